/**
 * Callers waiting for a transaction to commit on this peer (POST /v1/tx?wait=commit).
 * Bounded: at most `max` waiters; each one is removed on commit or on its timeout.
 */
export class CommitWaiters<T> {
  readonly #waiting = new Map<string, Set<(v: T | null) => void>>()
  #count = 0

  constructor(private readonly max = 20_000) {}

  wait(id: string, timeoutMs: number): Promise<T | null> {
    if (this.#count >= this.max) return Promise.resolve(null)
    return new Promise((resolve) => {
      let set = this.#waiting.get(id)
      if (set === undefined) this.#waiting.set(id, (set = new Set()))
      const done = (v: T | null) => {
        clearTimeout(timer)
        set.delete(done)
        if (set.size === 0) this.#waiting.delete(id)
        this.#count--
        resolve(v)
      }
      const timer = setTimeout(() => done(null), timeoutMs)
      set.add(done)
      this.#count++
    })
  }

  waiting(id: string): boolean {
    return this.#waiting.has(id)
  }

  resolve(id: string, value: T): void {
    const set = this.#waiting.get(id)
    if (set !== undefined) for (const done of [...set]) done(value)
  }

  /** Ends every wait (shutdown). */
  cancelAll(): void {
    for (const set of [...this.#waiting.values()]) for (const done of [...set]) done(null)
  }
}
