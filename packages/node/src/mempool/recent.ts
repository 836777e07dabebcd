/**
 * Ids of recently committed transactions, as common's keyOf (16 UTF-16 code units for 32
 * bytes), oldest forgotten first. Not hex: in a heap snapshot of a peer at 120,000
 * transactions, strings were 27 MB of the 57 MB of JS heap, most of them the keys of this
 * class's two sets, and 64 hex characters take 80 bytes of heap against 48 (the
 * checked-signature keys, id and signature in hex, took 208). Lets the node refuse,
 * without a disk read, a forwarded transaction or a proposed batch that repeats one just
 * committed (stale mempools after a restart or a view change). Older repeats are caught by
 * the executor's index lookup.
 *
 * Two generations of max/2 ids each: when the newer fills, the older is dropped whole, so the
 * last max/2 to max ids are remembered. Not one Set used as a FIFO (delete its first entry per
 * add): V8 leaves deleted entries as holes at the front of the table until a rehash, and each
 * values().next() walks over them. Measured with 200,000 ids: 0.3 ms per add once full (the
 * commit rate of a peer fell from ~900 to ~200 tx/s past 200,000 transactions), against
 * ~6 us with generations.
 */
export class RecentIds {
  #newer = new Set<string>()
  #older = new Set<string>()
  readonly #generation: number

  constructor(max: number) {
    this.#generation = Math.max(1, Math.ceil(max / 2))
  }

  get size(): number {
    return this.#newer.size + this.#older.size
  }

  has(id: string): boolean {
    return this.#newer.has(id) || this.#older.has(id)
  }

  add(id: string): void {
    if (this.has(id)) return
    if (this.#newer.size >= this.#generation) {
      this.#older = this.#newer
      this.#newer = new Set()
    }
    this.#newer.add(id)
  }
}
