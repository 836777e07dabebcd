import assert from 'node:assert/strict'
import { waitFor } from '../cluster.js'
import { checkLedger, type LedgerReport } from './checker.js'
import type { TestnetDriver } from './driver.js'
import { all, primaryOf } from './peers.js'
import { deployInstance, History } from './workload.js'

/**
 * Scenario 3, the primary cut off alone: the majority changes view and keeps committing; the old
 * primary, healed, follows the new view and commits new blocks with the others.
 */
export async function primaryPartitionScenario(t: TestnetDriver): Promise<LedgerReport> {
  const h = new History(t)
  await deployInstance(t)
  await h.batch(all(t), 12, 'warm')
  const old = await primaryOf(t, all(t))

  await t.partition([[old.primary]])
  const majority = all(t).filter((i) => i !== old.primary)
  const during = await h.batch(majority, 20, 'majority')
  assert.ok(during.every((o) => o.outcome === 'ok'), `the majority did not commit without its primary: ${h.summary()}`)
  const next = await primaryOf(t, majority)
  assert.ok(next.view > old.view && next.primary !== old.primary, `no view change on the majority side: ${JSON.stringify(next)}`)

  await t.heal()
  await waitFor(
    async () => (await t.status(old.primary))?.view === next.view,
    60_000,
    async () => `the old primary vp${old.primary} did not follow view ${next.view}: ${JSON.stringify(await t.status(old.primary))}`,
  )
  const after = await h.batch([old.primary], 6, 'old-primary')
  assert.ok(after.every((o) => o.outcome === 'ok'), `submissions through the old primary did not commit: ${h.summary()}`)
  const report = await checkLedger(t, h, all(t))
  assert.equal((await primaryOf(t, all(t))).view, next.view, 'the view moved again after heal')
  return report
}
