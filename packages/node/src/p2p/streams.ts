import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { StreamEndedError } from './errors.js'
import { FrameDecoder } from './framing.js'

/** Stream chunks arrive as Uint8Array or Uint8ArrayList; subarray() flattens the latter. */
export const chunkBytes = (data: StreamMessageEvent['data']): Uint8Array => (data instanceof Uint8Array ? data : data.subarray())

/** A missed 'drain' must not stall a link forever: re-check the stream this often while waiting. */
const DRAIN_RECHECK_MS = 1_000

/**
 * Resolves once the stream accepts writes again, or is no longer open. Waits for the 'drain' event:
 * `onDrain()` was seen to resolve at once with megabytes queued (stack-notes).
 */
export function waitDrain(stream: Stream): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearInterval(timer)
      stream.removeEventListener('drain', done)
      stream.removeEventListener('close', done)
      resolve()
    }
    const timer = setInterval(() => {
      if (!stream.writableNeedsDrain || stream.status !== 'open') done()
    }, DRAIN_RECHECK_MS)
    stream.addEventListener('drain', done)
    stream.addEventListener('close', done)
  })
}

/**
 * Reads exactly one length-prefixed frame of at most maxBytes. Rejects with FrameTooLargeError
 * (before reading the body), StreamEndedError, the stream's close error, or the signal's reason.
 * Attach it before anything can close the stream: a 'close' already past is not replayed.
 */
export function readOneFrame(stream: Stream, maxBytes: number, signal: AbortSignal): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const decoder = new FrameDecoder(maxBytes)
    let settled = false
    const settle = (err: unknown, frame?: Uint8Array): void => {
      if (settled) return
      settled = true
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('end', onEnd)
      stream.removeEventListener('close', onClose)
      signal.removeEventListener('abort', onAbort)
      if (frame !== undefined) resolve(frame)
      else reject(err)
    }
    const onMessage = (evt: StreamMessageEvent): void => {
      try {
        decoder.push(chunkBytes(evt.data), (frame) => settle(undefined, frame))
      } catch (err) {
        settle(err)
      }
    }
    // A graceful end can be signalled just before the last data of the same yamux frame (FIN riding on
    // it): let that data land first. A reset fails at once.
    const ended = (): void => void setTimeout(() => settle(new StreamEndedError('stream ended before a complete frame')), 0)
    const onEnd = (): void => ended()
    const onClose = (evt: StreamCloseEvent): void => (evt.error !== undefined ? settle(evt.error) : ended())
    const onAbort = (): void => settle(signal.reason)
    if (signal.aborted) return settle(signal.reason)
    signal.addEventListener('abort', onAbort)
    stream.addEventListener('message', onMessage)
    stream.addEventListener('end', onEnd)
    stream.addEventListener('close', onClose)
  })
}
