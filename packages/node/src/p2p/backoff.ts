export interface BackoffOptions {
  minMs: number
  maxMs: number
}

export const DEFAULT_BACKOFF: BackoffOptions = { minMs: 100, maxMs: 5_000 }

/**
 * Exponential redial delay with "equal jitter" (half fixed, half random), so validators that lost
 * each other at the same moment do not redial in lockstep. Outside consensus, so Math.random is fine;
 * tests inject their own source.
 */
export class Backoff {
  readonly #opts: BackoffOptions
  readonly #random: () => number
  #nextMs: number

  constructor(opts: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random) {
    if (!(opts.minMs > 0 && opts.maxMs >= opts.minMs)) throw new RangeError('backoff: need 0 < minMs <= maxMs')
    this.#opts = opts
    this.#random = random
    this.#nextMs = opts.minMs
  }

  /** The delay before the next attempt; doubles up to maxMs. */
  next(): number {
    const base = this.#nextMs
    this.#nextMs = Math.min(base * 2, this.#opts.maxMs)
    return base / 2 + (this.#random() * base) / 2
  }

  reset(): void {
    this.#nextMs = this.#opts.minMs
  }
}
