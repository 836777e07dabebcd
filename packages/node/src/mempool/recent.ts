/**
 * Ids of recently committed transactions (hex), oldest forgotten first. Lets the node refuse,
 * without a disk read, a forwarded transaction or a proposed batch that repeats one just
 * committed (stale mempools after a restart or a view change). Older repeats are caught by
 * the executor's index lookup.
 */
export class RecentIds {
  readonly #ids = new Set<string>()

  constructor(private readonly max: number) {}

  has(id: string): boolean {
    return this.#ids.has(id)
  }

  add(id: string): void {
    if (this.#ids.has(id)) return
    if (this.#ids.size >= this.max) this.#ids.delete(this.#ids.values().next().value as string)
    this.#ids.add(id)
  }
}
