import type { ConsensusParams } from '@vigil/common'
import { SimFailure } from './checker.js'

/** The window over which an honest replica's messages to one peer are counted. */
export const BUDGET_WINDOW_MS = 1000

/**
 * What an honest replica may send one peer per window: in each retransmission period (a quarter
 * of the view-change timeout, or more) a STATUS, a CHECKPOINT, a VIEW-CHANGE or a PRE-PREPARE or
 * PREPARE and a COMMIT for each of up to L slots, up to 4 FETCHes of its own, and in answer to
 * that peer up to 8 COMMITTED, a STABLE and a NEW-VIEW (its STATUS) and 8 BATCHes (its FETCHes);
 * the votes of new batches fit in the slack. Honest runs stay
 * well below it; a reply to every message of a flood does not.
 */
export function messageBudget(p: ConsensusParams): number {
  const periods = BUDGET_WINDOW_MS / Math.max(p.batchTimeoutMs, Math.floor(p.viewChangeTimeoutMs / 4)) + 1
  return Math.ceil(periods * (2 * p.watermarkWindow + 25))
}

/**
 * Counts what each honest replica sends each peer per window and fails the run past `limit`:
 * however much a Byzantine replica floods, what the honest ones send stays within what their
 * own protocol needs (retransmissions, catch-up, votes), so a flood never turns into a storm.
 */
export class MessageBudget {
  private window = 0
  private readonly counts = new Map<number, number>()

  constructor(private readonly n: number, private readonly limit: number) {}

  count(from: number, to: number, now: number): void {
    const w = Math.floor(now / BUDGET_WINDOW_MS)
    if (w !== this.window) {
      this.window = w
      this.counts.clear()
    }
    const key = from * this.n + to
    const c = (this.counts.get(key) ?? 0) + 1
    this.counts.set(key, c)
    if (c > this.limit) {
      throw new SimFailure('message budget', `replica ${from} sent more than ${this.limit} messages to replica ${to} between ${w * BUDGET_WINDOW_MS} and ${(w + 1) * BUDGET_WINDOW_MS} ms`)
    }
  }
}
