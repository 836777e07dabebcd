import assert from 'node:assert/strict'
import { checkLedger, type LedgerReport } from './checker.js'
import type { TestnetDriver } from './driver.js'
import { all, maxHeight, sleep, waitCaughtUp } from './peers.js'
import { Rng } from './random.js'
import { deployInstance, History } from './workload.js'

/**
 * Scenario 5, a Jepsen-style randomised run: clients write through random peers while a nemesis,
 * driven by a seeded PRNG, crashes, stops or isolates one random peer per round (never more than
 * f = 1 at once: each fault is repaired, and the peer caught up, before the next). The checker
 * then verifies the whole history. The same seed replays the same fault schedule.
 */
export interface ChaosOptions {
  seed: number
  /** Stop after this many rounds, or when `deadline` passes, whichever is first. */
  rounds: number
  deadline?: number
  log?: (line: string) => void
}

export interface ChaosReport extends LedgerReport {
  seed: number
  rounds: number
  kills: number
  stops: number
  partitions: number
  submitted: number
  timeouts: number
}

type Fault = 'kill' | 'stop' | 'isolate'
const FAULTS: Fault[] = ['kill', 'stop', 'isolate']

export async function chaosScenario(t: TestnetDriver, o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? (() => {})
  const rng = new Rng(o.seed)
  const clientRng = new Rng(o.seed ^ 0x5eed)
  const h = new History(t)
  await deployInstance(t)
  const count: Record<Fault, number> = { kill: 0, stop: 0, isolate: 0 }
  const load = h.background(() => clientRng.int(t.size), 'chaos', 6)
  let rounds = 0
  try {
    while (rounds < o.rounds && (o.deadline === undefined || Date.now() < o.deadline)) {
      const fault = rng.pick(FAULTS)
      const victim = rng.int(t.size)
      const holdMs = 1000 + rng.int(3000)
      log(`round ${rounds + 1}: ${fault} vp${victim} for ${holdMs} ms (${h.summary()})`)
      count[fault]++
      if (fault === 'isolate') await t.partition([[victim]])
      else await t.stop(victim, fault === 'kill' ? 'kill' : 'term')
      await sleep(holdMs)
      if (fault === 'isolate') await t.heal()
      else await t.start(victim)
      await waitCaughtUp(t, victim, await maxHeight(t, all(t).filter((i) => i !== victim)))
      await sleep(500 + rng.int(1500))
      rounds++
    }
  } finally {
    await load.stop()
  }
  const ledger = await checkLedger(t, h, all(t))
  assert.ok(ledger.acknowledged > 0, `nothing was acknowledged in ${rounds} rounds: ${h.summary()}`)
  return { ...ledger, seed: o.seed, rounds, kills: count.kill, stops: count.stop, partitions: count.isolate, submitted: h.ops.length, timeouts: h.count('timeout') }
}
