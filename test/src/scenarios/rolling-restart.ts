import assert from 'node:assert/strict'
import { checkLedger, type LedgerReport } from './checker.js'
import type { TestnetDriver } from './driver.js'
import { all, maxHeight, sleep, waitCaughtUp } from './peers.js'
import { Rng } from './random.js'
import { deployInstance, History } from './workload.js'

/** Scenario 4: every peer restarted in turn (clean stop, start, catch up) under client load. */
export async function rollingRestartScenario(t: TestnetDriver): Promise<LedgerReport & { submitted: number }> {
  const h = new History(t)
  await deployInstance(t)
  const rng = new Rng(4)
  let down = -1
  const load = h.background(() => rng.pick(all(t).filter((i) => i !== down)), 'rolling')
  try {
    for (const i of all(t)) {
      await sleep(1000)
      down = i
      await t.stop(i, 'term')
      await sleep(1500)
      await t.start(i)
      await waitCaughtUp(t, i, await maxHeight(t, all(t).filter((k) => k !== i)))
      down = -1
    }
    await sleep(1000)
  } finally {
    await load.stop()
  }
  assert.ok(h.acknowledged().length > 0, `no transaction committed during the rolling restart: ${h.summary()}`)
  return { ...(await checkLedger(t, h, all(t))), submitted: h.ops.length }
}
