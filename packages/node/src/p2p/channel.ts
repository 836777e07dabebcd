import type { Connection, PeerId, Stream, StreamMessageEvent } from '@libp2p/interface'
import type { Logger } from 'pino'
import { Backoff } from './backoff.js'
import { FrameTooLargeError } from './errors.js'
import { encodedFrameLength, encodeFrames, FrameDecoder, MAX_FRAME_BYTES_LIMIT } from './framing.js'
import { chunkBytes, waitDrain } from './streams.js'

/**
 * A channel is one libp2p protocol carrying a one-way flow of frames to each validator, like a
 * CometBFT reactor channel: one long-lived outbound stream per peer, reopened on failure, fed from a
 * bounded per-peer queue. Inbound streams are only read; the sender is the Noise-authenticated peer.
 */

export interface ChannelOptions {
  /** Largest frame accepted from a peer (checked on the length prefix) or sent to one. */
  maxFrameBytes: number
  /** Frames waiting per peer before send() refuses; memory per peer <= queueMax * maxFrameBytes. */
  queueMax: number
}

export type FrameHandler = (from: number, frame: Uint8Array) => void

/**
 * Why a frame (or, for unknownPeer / malformed / streamError, a stream) was dropped:
 * queueFull: the peer's queue was full; disconnected: no connection at send time, or queued when it
 * closed; oversized: a frame above maxFrameBytes (ours refused locally, theirs before decoding, and
 * the stream reset); malformed: a bad length prefix; unknownPeer: a stream from a non-validator
 * (the gater should make this 0); streamError: an outbound stream failed to open or write (frames
 * already handed to it may be lost; the queue is kept and retried).
 */
export type DropReason = 'queueFull' | 'disconnected' | 'oversized' | 'malformed' | 'unknownPeer' | 'streamError'

/** Byte counts are frame bodies, without length prefixes. */
export interface ChannelCounters {
  framesIn: number
  framesOut: number
  bytesIn: number
  bytesOut: number
  drops: Record<DropReason, number>
}

export interface Channel {
  readonly protocol: string
  /** Queues a frame for one validator: false (and a counted drop) if not connected, full or oversized. */
  send(peer: number, frame: Uint8Array): boolean
  /** Sends to every other validator; returns how many accepted it. */
  broadcast(frame: Uint8Array): number
  /** Handlers run synchronously per frame, in arrival order per peer; they must not block. */
  onFrame(handler: FrameHandler): void
  counters(): ChannelCounters
}

/** What a channel needs from PeerLinks. */
export interface LinkContext {
  readonly self: number
  readonly size: number
  readonly logger: Logger
  readonly random: () => number
  /** An open connection to the validator, if any. */
  connection(peer: number): Connection | undefined
  peerIndex(peerId: PeerId): number | undefined
}

/** Small frames are packed into one write up to this size: fewer yamux frames and syscalls. */
const COALESCE_BYTES = 64 * 1024
const OPEN_STREAM_TIMEOUT_MS = 5_000
const RETRY_BACKOFF = { minMs: 50, maxMs: 2_000 }
/** One live stream per peer is expected; a few more cover a reopen racing the old stream's close. */
export const MAX_CHANNEL_STREAMS = 4
const QUEUE_MAX_LIMIT = 1_000_000

export class ChannelImpl implements Channel {
  readonly protocol: string
  readonly maxFrameBytes: number
  readonly queueMax: number
  readonly #ctx: LinkContext
  readonly #handlers: FrameHandler[] = []
  readonly #senders: Array<PeerSender | undefined>
  readonly #counters: ChannelCounters = {
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    drops: { queueFull: 0, disconnected: 0, oversized: 0, malformed: 0, unknownPeer: 0, streamError: 0 },
  }

  constructor(ctx: LinkContext, protocol: string, opts: ChannelOptions) {
    if (!Number.isSafeInteger(opts.maxFrameBytes) || opts.maxFrameBytes < 1 || opts.maxFrameBytes > MAX_FRAME_BYTES_LIMIT) {
      throw new RangeError(`channel ${protocol}: maxFrameBytes must be an integer in 1..${MAX_FRAME_BYTES_LIMIT}`)
    }
    if (!Number.isSafeInteger(opts.queueMax) || opts.queueMax < 1 || opts.queueMax > QUEUE_MAX_LIMIT) {
      throw new RangeError(`channel ${protocol}: queueMax must be an integer in 1..${QUEUE_MAX_LIMIT}`)
    }
    this.#ctx = ctx
    this.protocol = protocol
    this.maxFrameBytes = opts.maxFrameBytes
    this.queueMax = opts.queueMax
    this.#senders = Array.from({ length: ctx.size }, (_, i) => (i === ctx.self ? undefined : new PeerSender(this, ctx, i)))
  }

  send(peer: number, frame: Uint8Array): boolean {
    const sender = this.#senders[peer]
    if (sender === undefined) throw new RangeError(`channel ${this.protocol}: no peer ${peer} (self is ${this.#ctx.self}, size ${this.#ctx.size})`)
    if (frame.byteLength > this.maxFrameBytes) return this.drop('oversized')
    if (this.#ctx.connection(peer) === undefined) return this.drop('disconnected')
    return sender.enqueue(frame)
  }

  broadcast(frame: Uint8Array): number {
    let accepted = 0
    for (let peer = 0; peer < this.#ctx.size; peer++) if (peer !== this.#ctx.self && this.send(peer, frame)) accepted++
    return accepted
  }

  onFrame(handler: FrameHandler): void {
    this.#handlers.push(handler)
  }

  counters(): ChannelCounters {
    return { ...this.#counters, drops: { ...this.#counters.drops } }
  }

  /** Always false, so `return this.drop(...)` reads as a refused send. */
  drop(reason: DropReason, frames = 1): false {
    this.#counters.drops[reason] += frames
    return false
  }

  sent(frames: number, bytes: number): void {
    this.#counters.framesOut += frames
    this.#counters.bytesOut += bytes
  }

  /** The libp2p stream handler for this protocol. */
  handleInbound(stream: Stream, connection: Connection): void {
    const from = this.#ctx.peerIndex(connection.remotePeer)
    if (from === undefined || from === this.#ctx.self) {
      this.drop('unknownPeer')
      stream.abort(new Error('not a validator'))
      return
    }
    const decoder = new FrameDecoder(this.maxFrameBytes)
    const onFrame = (frame: Uint8Array): void => this.#deliver(from, frame)
    const onMessage = (evt: StreamMessageEvent): void => {
      try {
        decoder.push(chunkBytes(evt.data), onFrame)
      } catch (err) {
        // Never decode past a bad prefix: reset this stream; the sender reopens a fresh one.
        this.drop(err instanceof FrameTooLargeError ? 'oversized' : 'malformed')
        this.#ctx.logger.warn({ peer: from, protocol: this.protocol, err: (err as Error).message }, 'refused inbound frame, resetting stream')
        stream.removeEventListener('message', onMessage)
        stream.abort(err as Error)
      }
    }
    stream.addEventListener('message', onMessage)
  }

  /** Drops what is queued for a peer whose last connection closed. */
  peerDisconnected(peer: number): void {
    this.#senders[peer]?.reset('disconnected')
  }

  close(): void {
    for (const s of this.#senders) s?.reset('disconnected')
  }

  #deliver(from: number, frame: Uint8Array): void {
    this.#counters.framesIn++
    this.#counters.bytesIn += frame.byteLength
    for (const handler of this.#handlers) {
      try {
        handler(from, frame)
      } catch (err) {
        // A reactor bug must not take the link down with it.
        this.#ctx.logger.error({ peer: from, protocol: this.protocol, err }, 'frame handler threw')
      }
    }
  }
}

/** The outbound half of a channel to one validator: bounded queue, one stream, drain-aware pump. */
class PeerSender {
  readonly #ch: ChannelImpl
  readonly #ctx: LinkContext
  readonly #peer: number
  readonly #backoff: Backoff
  /** FIFO: frames from #head on are waiting; compacted when the dead prefix grows. */
  #queue: Uint8Array[] = []
  #head = 0
  #stream: Stream | undefined
  #pumping = false
  #retry: NodeJS.Timeout | undefined

  constructor(ch: ChannelImpl, ctx: LinkContext, peer: number) {
    this.#ch = ch
    this.#ctx = ctx
    this.#peer = peer
    this.#backoff = new Backoff(RETRY_BACKOFF, ctx.random)
  }

  get queued(): number {
    return this.#queue.length - this.#head
  }

  enqueue(frame: Uint8Array): boolean {
    if (this.queued >= this.#ch.queueMax) return this.#ch.drop('queueFull')
    this.#queue.push(frame)
    this.#kick()
    return true
  }

  reset(reason: 'disconnected'): void {
    if (this.queued > 0) this.#ch.drop(reason, this.queued)
    this.#queue = []
    this.#head = 0
    clearTimeout(this.#retry)
    this.#retry = undefined
    this.#stream?.abort(new Error(`peer ${reason}`))
    this.#stream = undefined
  }

  /** Starts the pump on the next microtask, so frames sent in the same tick share one write. */
  #kick(): void {
    if (this.#pumping || this.#retry !== undefined) return
    this.#pumping = true
    queueMicrotask(() => void this.#pump())
  }

  async #pump(): Promise<void> {
    try {
      while (this.queued > 0) {
        const stream = await this.#openStream()
        if (stream === undefined) {
          this.reset('disconnected')
          return
        }
        if (stream.writableNeedsDrain) {
          await waitDrain(stream)
          continue
        }
        this.#writeBatch(stream)
      }
      this.#backoff.reset()
    } catch (err) {
      this.#ch.drop('streamError')
      this.#ctx.logger.debug({ peer: this.#peer, protocol: this.#ch.protocol, err: (err as Error).message }, 'outbound stream failed')
      this.#stream?.abort(err as Error)
      this.#stream = undefined
      if (this.queued > 0) {
        this.#retry = setTimeout(() => {
          this.#retry = undefined
          this.#kick()
        }, this.#backoff.next())
      }
    } finally {
      this.#pumping = false
    }
  }

  /** The current stream, a new one if it closed, or undefined if the peer is gone. */
  async #openStream(): Promise<Stream | undefined> {
    const current = this.#stream
    if (current !== undefined && current.status === 'open' && current.writeStatus === 'writable') return current
    this.#stream = undefined
    const conn = this.#ctx.connection(this.#peer)
    if (conn === undefined) return undefined
    const stream = await conn.newStream(this.#ch.protocol, { signal: AbortSignal.timeout(OPEN_STREAM_TIMEOUT_MS) })
    stream.addEventListener('close', () => {
      if (this.#stream === stream) this.#stream = undefined
    })
    this.#stream = stream
    return stream
  }

  #writeBatch(stream: Stream): void {
    const frames: Uint8Array[] = []
    let bytes = 0
    let payload = 0
    while (this.#head < this.#queue.length && (frames.length === 0 || bytes < COALESCE_BYTES)) {
      const frame = this.#queue[this.#head] as Uint8Array
      this.#queue[this.#head++] = EMPTY
      frames.push(frame)
      bytes += encodedFrameLength(frame)
      payload += frame.byteLength
    }
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    }
    // send() returning false only means "wait for drain"; the bytes were accepted.
    stream.send(encodeFrames(frames, bytes))
    this.#ch.sent(frames.length, payload)
  }
}

const EMPTY = new Uint8Array(0)
