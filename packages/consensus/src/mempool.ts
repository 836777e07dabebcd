import type { Request } from './types.js'
import { keyOf } from './keys.js'

interface Pending {
  request: Request
  key: string
  arrived: number
}

/**
 * Requests waiting to be ordered, and the ids delivered recently (dedup memory).
 * Pending is capped; delivered ids are kept per sequence number and forgotten when a stable
 * checkpoint passes them (see Replica), so both stay bounded.
 */
export class RequestPool {
  private readonly pending = new Map<string, Pending>()
  private readonly delivered = new Map<string, number>()
  private readonly deliveredBySeq = new Map<number, readonly string[]>()
  private pendingBytesTotal = 0

  constructor(private readonly maxPending: number) {}

  get size(): number {
    return this.pending.size
  }

  get pendingBytes(): number {
    return this.pendingBytesTotal
  }

  /** By keyOf(id). */
  isDelivered(key: string): boolean {
    return this.delivered.has(key)
  }

  /** By keyOf(id). */
  isPending(key: string): boolean {
    return this.pending.has(key)
  }

  /** Null when added, else why not. */
  add(request: Request, now: number): string | null {
    const key = keyOf(request.id)
    if (this.delivered.has(key)) return 'duplicate request (already delivered)'
    if (this.pending.has(key)) return 'duplicate request'
    if (this.pending.size >= this.maxPending) return 'request pool full'
    this.pending.set(key, { request, key, arrived: now })
    this.pendingBytesTotal += request.payload.byteLength
    return null
  }

  /** Arrival time of the oldest pending request (Map order is arrival order). */
  oldestArrival(): number | null {
    for (const p of this.pending.values()) return p.arrived
    return null
  }

  /** The oldest pending requests that fit, with their keys; they stay pending until delivered. */
  take(maxCount: number, maxBytes: number): { requests: Request[]; keys: string[] } {
    const requests: Request[] = []
    const keys: string[] = []
    let bytes = 0
    for (const p of this.pending.values()) {
      if (requests.length >= maxCount) break
      const size = p.request.payload.byteLength
      if (bytes + size > maxBytes) continue
      bytes += size
      requests.push(p.request)
      keys.push(p.key)
    }
    return { requests, keys }
  }

  /** `keys` (keyOf of each request id) is kept as is: the caller never mutates it. */
  markDelivered(seq: number, keys: readonly string[]): void {
    for (const key of keys) {
      const p = this.pending.get(key)
      if (p !== undefined) {
        this.pendingBytesTotal -= p.request.payload.byteLength
        this.pending.delete(key)
      }
      this.delivered.set(key, seq)
    }
    if (keys.length > 0) this.deliveredBySeq.set(seq, keys)
  }

  /** Forgets delivered ids at or below seq; returns the sequence numbers forgotten. */
  forget(upTo: number): number[] {
    const gone: number[] = []
    for (const [seq, keys] of this.deliveredBySeq) {
      if (seq > upTo) continue
      for (const k of keys) if (this.delivered.get(k) === seq) this.delivered.delete(k)
      this.deliveredBySeq.delete(seq)
      gone.push(seq)
    }
    return gone.sort((a, b) => a - b)
  }

  /** After a state transfer the pool may hold requests delivered in the skipped range; drop them all. */
  clearPending(): void {
    this.pending.clear()
    this.pendingBytesTotal = 0
  }
}
