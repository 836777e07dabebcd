import { FrameTooLargeError, MalformedFrameError } from './errors.js'

/**
 * Frames on a stream are `varint(length) || body` (unsigned LEB128, the multiformats/it-length-prefixed
 * encoding). The decoder checks the announced length against the limit while the prefix is still
 * being read, so an oversized frame is refused before a single body byte is buffered.
 */

/** 5 varint bytes hold 35 bits, far above any sane limit; more is garbage. */
export const MAX_VARINT_BYTES = 5
/** Hard ceiling for any configured frame limit (the yamux and libp2p read buffers are 4 MiB-ish). */
export const MAX_FRAME_BYTES_LIMIT = 64 * 1024 * 1024

export function varintLength(n: number): number {
  let len = 1
  while (n >= 0x80) {
    n = Math.floor(n / 128)
    len++
  }
  return len
}

/** Writes varint(n) at offset; returns the offset after it. */
export function writeVarint(n: number, out: Uint8Array, offset: number): number {
  while (n >= 0x80) {
    out[offset++] = (n & 0x7f) | 0x80
    n = Math.floor(n / 128)
  }
  out[offset++] = n
  return offset
}

/** Bytes a frame takes on the wire. */
export const encodedFrameLength = (frame: Uint8Array): number => varintLength(frame.byteLength) + frame.byteLength

/** Length-prefixes one frame into a fresh buffer. */
export function encodeFrame(frame: Uint8Array): Uint8Array {
  return encodeFrames([frame], encodedFrameLength(frame))
}

/** Length-prefixes several frames into one buffer of `totalBytes` (the sum of encodedFrameLength): one write for many small frames. */
export function encodeFrames(frames: readonly Uint8Array[], totalBytes: number): Uint8Array {
  const out = new Uint8Array(totalBytes)
  let offset = 0
  for (const f of frames) {
    offset = writeVarint(f.byteLength, out, offset)
    out.set(f, offset)
    offset += f.byteLength
  }
  if (offset !== totalBytes) throw new RangeError(`encodeFrames: ${offset} bytes written, ${totalBytes} announced`)
  return out
}

/**
 * Incremental decoder for one stream. Memory held is at most one frame body (<= maxFrameBytes).
 * After it throws, the stream is garbage: the caller resets it and drops the decoder.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number
  #prefix = 0
  #prefixBytes = 0
  #body: Uint8Array | undefined
  #filled = 0

  constructor(maxFrameBytes: number) {
    if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 0 || maxFrameBytes > MAX_FRAME_BYTES_LIMIT) {
      throw new RangeError(`maxFrameBytes must be an integer in 0..${MAX_FRAME_BYTES_LIMIT}`)
    }
    this.maxFrameBytes = maxFrameBytes
  }

  /** True between frames: a stream that ends here ended cleanly. */
  get idle(): boolean {
    return this.#body === undefined && this.#prefixBytes === 0
  }

  /** Feeds received bytes; calls onFrame for each complete frame, in order. */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    const n = chunk.byteLength
    let i = 0
    while (i < n) {
      const body = this.#body
      if (body !== undefined) {
        const take = Math.min(body.byteLength - this.#filled, n - i)
        body.set(chunk.subarray(i, i + take), this.#filled)
        this.#filled += take
        i += take
        if (this.#filled === body.byteLength) {
          this.#body = undefined
          onFrame(body)
        }
        continue
      }
      const byte = chunk[i++] as number
      this.#prefix += (byte & 0x7f) * 2 ** (7 * this.#prefixBytes)
      this.#prefixBytes++
      // The prefix read so far is a lower bound of the length: refuse as early as possible.
      if (this.#prefix > this.maxFrameBytes) throw new FrameTooLargeError(this.#prefix, this.maxFrameBytes)
      if ((byte & 0x80) !== 0) {
        if (this.#prefixBytes >= MAX_VARINT_BYTES) throw new MalformedFrameError(`length prefix longer than ${MAX_VARINT_BYTES} bytes`)
        continue
      }
      const length = this.#prefix
      this.#prefix = 0
      this.#prefixBytes = 0
      if (n - i >= length) {
        // Whole body in this chunk: hand out a view, no copy.
        onFrame(chunk.subarray(i, i + length))
        i += length
      } else {
        this.#body = new Uint8Array(length)
        this.#filled = 0
      }
    }
  }
}
