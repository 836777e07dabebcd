import { toHex, type Tx } from '@vigil/common'

export interface PoolEntry {
  tx: Tx
  /** performance.now() when this peer first saw it, for the commit-latency metric. */
  seenAt: number
}

export type AdmitResult = 'added' | 'known' | 'full'

/**
 * Verified transactions waiting to be ordered, keyed by id (hex), oldest first.
 * Bounded: when full, new transactions are refused (the API answers 503) rather than
 * growing without limit under load.
 */
export class Mempool {
  readonly #entries = new Map<string, PoolEntry>()
  readonly maxTxs: number

  constructor(maxTxs: number) {
    this.maxTxs = maxTxs
  }

  get size(): number {
    return this.#entries.size
  }

  has(idHex: string): boolean {
    return this.#entries.has(idHex)
  }

  get(idHex: string): PoolEntry | undefined {
    return this.#entries.get(idHex)
  }

  admit(tx: Tx, seenAt: number): AdmitResult {
    const id = toHex(tx.id)
    if (this.#entries.has(id)) return 'known'
    if (this.#entries.size >= this.maxTxs) return 'full'
    this.#entries.set(id, { tx, seenAt })
    return 'added'
  }

  /** Oldest first. */
  entries(): IterableIterator<PoolEntry> {
    return this.#entries.values()
  }

  /** Removes committed transactions; returns the entries that were here. */
  remove(ids: readonly string[]): PoolEntry[] {
    const out: PoolEntry[] = []
    for (const id of ids) {
      const e = this.#entries.get(id)
      if (e !== undefined) {
        out.push(e)
        this.#entries.delete(id)
      }
    }
    return out
  }
}
