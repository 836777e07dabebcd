import { keyOf } from '@vigil/common'
import type { Request } from './types.js'

const PENDING = -1

/** A request this replica knows of: pending (seq = PENDING) or delivered at seq. */
interface Entry {
  key: string
  /** Dropped on delivery: dedup needs the key only. */
  request: Request | null
  arrived: number
  seq: number
}

/** Dead queue entries are swept once they outnumber both this and the pending ones. */
const MIN_SWEEP = 1024

/**
 * Requests waiting to be ordered, and the ids delivered recently (dedup memory).
 * Pending is capped; delivered ids are kept per sequence number and forgotten when a stable
 * checkpoint passes them (see Replica), so both stay bounded.
 *
 * One map holds both states, so delivering a pending request updates its entry in place (one
 * lookup instead of a delete and an insert into a second map); arrival order lives in a queue
 * from which delivered entries are dropped lazily.
 */
export class RequestPool {
  private readonly entries = new Map<string, Entry>()
  /** The entries delivered at each seq, so forgetting one needs no lookup. */
  private readonly deliveredBySeq = new Map<number, Entry[]>()
  /** Pending entries in arrival order, plus delivered ones not swept yet (`dead`); none before `head` is pending. */
  private queue: Entry[] = []
  private head = 0
  private dead = 0
  private pendingCount = 0
  private pendingBytesTotal = 0

  constructor(private readonly maxPending: number) {}

  get size(): number {
    return this.pendingCount
  }

  get pendingBytes(): number {
    return this.pendingBytesTotal
  }

  /** By keyOf(id). */
  isDelivered(key: string): boolean {
    const e = this.entries.get(key)
    return e !== undefined && e.seq !== PENDING
  }

  /** By keyOf(id). */
  isPending(key: string): boolean {
    return this.entries.get(key)?.seq === PENDING
  }

  /** Null when added, else why not. `key`: keyOf(request.id), when the caller has it already. */
  add(request: Request, now: number, key = keyOf(request.id)): string | null {
    const known = this.entries.get(key)
    if (known !== undefined) return known.seq === PENDING ? 'duplicate request' : 'duplicate request (already delivered)'
    if (this.pendingCount >= this.maxPending) return 'request pool full'
    const e: Entry = { key, request, arrived: now, seq: PENDING }
    this.entries.set(key, e)
    this.queue.push(e)
    this.pendingCount++
    this.pendingBytesTotal += request.payload.byteLength
    return null
  }

  /** Arrival time of the oldest pending request. */
  oldestArrival(): number | null {
    return this.oldest()?.arrived ?? null
  }

  /** keyOf(id) of the oldest pending request. */
  oldestKey(): string | null {
    return this.oldest()?.key ?? null
  }

  private oldest(): Entry | null {
    const q = this.queue
    while (this.head < q.length && q[this.head]!.seq !== PENDING) this.head++
    return this.head < q.length ? q[this.head]! : null
  }

  /** The oldest pending requests that fit, with their keys; they stay pending until delivered. */
  take(maxCount: number, maxBytes: number): { requests: Request[]; keys: string[] } {
    const requests: Request[] = []
    const keys: string[] = []
    let bytes = 0
    const q = this.queue
    for (let i = this.head; i < q.length && requests.length < maxCount; i++) {
      const e = q[i]!
      if (e.seq !== PENDING) continue
      const size = e.request!.payload.byteLength
      if (bytes + size > maxBytes) continue
      bytes += size
      requests.push(e.request!)
      keys.push(e.key)
    }
    return { requests, keys }
  }

  /** By keyOf of each request id. */
  markDelivered(seq: number, keys: readonly string[]): void {
    const delivered: Entry[] = []
    for (const key of keys) {
      let e = this.entries.get(key)
      if (e === undefined) {
        e = { key, request: null, arrived: 0, seq }
        this.entries.set(key, e)
      } else if (e.seq === PENDING) {
        this.pendingCount--
        this.pendingBytesTotal -= e.request!.payload.byteLength
        e.request = null
        this.dead++
      }
      e.seq = seq
      delivered.push(e)
    }
    if (delivered.length > 0) this.deliveredBySeq.set(seq, delivered)
    if (this.dead > MIN_SWEEP && this.dead > this.pendingCount) this.sweep()
  }

  /** Forgets delivered ids at or below seq; returns the sequence numbers forgotten. */
  forget(upTo: number): number[] {
    const gone: number[] = []
    for (const [seq, delivered] of this.deliveredBySeq) {
      if (seq > upTo) continue
      // An entry delivered again at a later seq is that seq's to forget; until then it stays mapped.
      for (const e of delivered) if (e.seq === seq) this.entries.delete(e.key)
      this.deliveredBySeq.delete(seq)
      gone.push(seq)
    }
    return gone.sort((a, b) => a - b)
  }

  /** After a state transfer the pool may hold requests delivered in the skipped range; drop them all. */
  clearPending(): void {
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i]!
      if (e.seq === PENDING) this.entries.delete(e.key)
    }
    this.queue = []
    this.head = this.dead = this.pendingCount = this.pendingBytesTotal = 0
  }

  /** Drops delivered entries from the arrival queue, keeping it within twice the pending count (plus MIN_SWEEP). */
  private sweep(): void {
    this.queue = this.queue.filter((e) => e.seq === PENDING)
    this.head = this.dead = 0
  }
}
