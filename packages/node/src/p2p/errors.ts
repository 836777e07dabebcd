import { VigilError } from '@vigil/common'

/** A length prefix announced more bytes than the receiver's limit; the body is never read. */
export class FrameTooLargeError extends VigilError {
  constructor(
    readonly length: number,
    readonly maxBytes: number,
  ) {
    super('FRAME_TOO_LARGE', `frame of at least ${length} bytes exceeds the limit of ${maxBytes}`)
    this.name = 'FrameTooLargeError'
  }
}

/** A length prefix that is not a valid varint of at most MAX_VARINT_BYTES bytes. */
export class MalformedFrameError extends VigilError {
  constructor(message: string) {
    super('FRAME_MALFORMED', message)
    this.name = 'MalformedFrameError'
  }
}

/** No open connection to the validator, so nothing can be sent or asked. */
export class PeerNotConnectedError extends VigilError {
  constructor(readonly peer: number) {
    super('PEER_NOT_CONNECTED', `validator ${peer} is not connected`)
    this.name = 'PeerNotConnectedError'
  }
}

/** A request got no complete response in time. */
export class RequestTimeoutError extends VigilError {
  constructor(
    readonly peer: number,
    readonly protocol: string,
    readonly timeoutMs: number,
  ) {
    super('REQUEST_TIMEOUT', `request ${protocol} to validator ${peer} got no response within ${timeoutMs} ms`)
    this.name = 'RequestTimeoutError'
  }
}

/** The stream ended or was reset before a complete frame arrived. */
export class StreamEndedError extends VigilError {
  constructor(message: string) {
    super('STREAM_ENDED', message)
    this.name = 'StreamEndedError'
  }
}
