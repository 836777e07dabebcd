import assert from 'node:assert/strict'
import { checkLedger, type LedgerReport } from './checker.js'
import type { TestnetDriver } from './driver.js'
import { all, maxHeight, primaryOf, waitCaughtUp } from './peers.js'
import { deployInstance, History } from './workload.js'

/**
 * Scenario 1, the seed scenario: VP1 is cut off while the others commit; healed, it catches up;
 * then the primary crashes, and VP1 must be part of every following quorum (with one peer down
 * the remaining three all have to sign).
 */
export async function seedScenario(t: TestnetDriver): Promise<LedgerReport> {
  const h = new History(t)
  await deployInstance(t)
  await h.batch(all(t), 12, 'warm')
  const { primary } = await primaryOf(t, all(t))
  assert.notEqual(primary, 1, 'the scenario expects VP1 not to be the primary')

  await t.partition([[1]])
  const others = all(t).filter((i) => i !== 1)
  const whileCut = await h.batch(others, 30, 'cut')
  assert.ok(whileCut.every((o) => o.outcome === 'ok'), `commits stopped while only VP1 was cut off: ${h.summary()}`)
  const top = await maxHeight(t, others)
  assert.ok(((await t.status(1))?.height ?? 0) < top, 'VP1 kept committing while cut off')

  await t.heal()
  await waitCaughtUp(t, 1, top)

  await t.stop(primary, 'kill')
  const rest = all(t).filter((i) => i !== primary)
  const later = await h.batch(rest, 20, 'after-primary')
  assert.ok(later.every((o) => o.outcome === 'ok'), `commits did not resume after the primary crashed: ${h.summary()}`)
  for (const height of new Set(later.map((o) => o.height!))) {
    const b = await t.api(rest[0]!).get<{ certificate: { sigs: Array<{ replica: number }> } }>(`/v1/blocks/${height}`)
    assert.ok(b.certificate.sigs.some((s) => s.replica === 1), `VP1 is not in the commit certificate of block ${height}`)
  }

  await t.start(primary)
  await waitCaughtUp(t, primary, await maxHeight(t, rest))
  return checkLedger(t, h, all(t))
}
