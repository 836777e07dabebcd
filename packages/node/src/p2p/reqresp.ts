import type { Connection, Stream } from '@libp2p/interface'
import type { Logger } from 'pino'
import { FrameTooLargeError, PeerNotConnectedError, RequestTimeoutError } from './errors.js'
import { encodeFrame, MAX_FRAME_BYTES_LIMIT } from './framing.js'
import { readOneFrame } from './streams.js'

/**
 * Request/response (block sync): one short-lived stream per request carrying exactly one
 * length-prefixed frame each way. Both sides bound the frame size and the time.
 */

export interface RequestOptions {
  /** Whole exchange: opening the stream, sending, and reading the response. */
  timeoutMs: number
  /** A longer response is refused on its length prefix, before its body is read. */
  maxResponseBytes: number
}

export interface HandleOptions {
  /** A longer request is refused on its length prefix and its stream reset. */
  maxRequestBytes: number
  /** Time for the request to arrive and the handler to answer; default 10 s. */
  timeoutMs?: number
  /** Concurrent requests per connection for this protocol; default 8 (libp2p refuses more). */
  maxConcurrent?: number
}

export type RequestHandler = (from: number, request: Uint8Array) => Promise<Uint8Array>

export interface RequestCounters {
  sent: number
  succeeded: number
  timedOut: number
  failed: number
  served: number
  refused: number
}

export const newRequestCounters = (): RequestCounters => ({ sent: 0, succeeded: 0, timedOut: 0, failed: 0, served: 0, refused: 0 })

const DEFAULT_HANDLE_TIMEOUT_MS = 10_000
export const DEFAULT_MAX_CONCURRENT_REQUESTS = 8

function checkLimit(what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_FRAME_BYTES_LIMIT) throw new RangeError(`${what} must be an integer in 0..${MAX_FRAME_BYTES_LIMIT}`)
}

/** Sends one request on a fresh stream of `conn` and reads one response. */
export async function request(
  conn: Connection | undefined,
  peer: number,
  protocol: string,
  body: Uint8Array,
  opts: RequestOptions,
  stopSignal: AbortSignal,
  counters: RequestCounters,
): Promise<Uint8Array> {
  checkLimit('maxResponseBytes', opts.maxResponseBytes)
  if (!(opts.timeoutMs > 0)) throw new RangeError('timeoutMs must be positive')
  if (conn === undefined) throw new PeerNotConnectedError(peer)
  counters.sent++
  const timeout = AbortSignal.timeout(opts.timeoutMs)
  const signal = AbortSignal.any([timeout, stopSignal])
  let stream: Stream | undefined
  try {
    stream = await conn.newStream(protocol, { signal })
    // Listen before closing our side: the whole exchange may finish before close() returns.
    const response = readOneFrame(stream, opts.maxResponseBytes, signal)
    response.catch(() => {}) // observed below; avoids an unhandled rejection while close() is awaited
    stream.send(encodeFrame(body))
    await stream.close({ signal })
    const result = await response
    counters.succeeded++
    return result
  } catch (err) {
    stream?.abort(err as Error)
    if (timeout.aborted) {
      counters.timedOut++
      throw new RequestTimeoutError(peer, protocol, opts.timeoutMs)
    }
    counters.failed++
    throw err
  }
}

/** A libp2p stream handler answering each request with `handler`'s bytes. */
export function serveRequests(
  protocol: string,
  handler: RequestHandler,
  opts: HandleOptions,
  peerIndex: (conn: Connection) => number | undefined,
  logger: Logger,
  counters: RequestCounters,
): (stream: Stream, conn: Connection) => void {
  checkLimit('maxRequestBytes', opts.maxRequestBytes)
  const timeoutMs = opts.timeoutMs ?? DEFAULT_HANDLE_TIMEOUT_MS
  return (stream, conn) => {
    const from = peerIndex(conn)
    if (from === undefined) {
      counters.refused++
      stream.abort(new Error('not a validator'))
      return
    }
    const signal = AbortSignal.timeout(timeoutMs)
    const answer = async (): Promise<void> => {
      const req = await readOneFrame(stream, opts.maxRequestBytes, signal)
      const res = await handler(from, req)
      signal.throwIfAborted()
      stream.send(encodeFrame(res))
      await stream.close({ signal })
      counters.served++
    }
    answer().catch((err: unknown) => {
      counters.refused++
      const level = err instanceof FrameTooLargeError ? 'warn' : 'debug'
      logger[level]({ peer: from, protocol, err: (err as Error).message }, 'request not served')
      stream.abort(err as Error)
    })
  }
}
