import assert from 'node:assert/strict'
import { checkLedger, noQuorumWindow, type LedgerReport } from './checker.js'
import type { TestnetDriver } from './driver.js'
import { all, sleep } from './peers.js'
import { deployInstance, History } from './workload.js'

/**
 * Scenario 2, partition 2|2: neither half has a quorum, so nothing commits and clients get
 * timeouts (504), not wrong answers; after heal commits resume and nothing forks.
 */
export async function splitBrainScenario(t: TestnetDriver): Promise<LedgerReport> {
  const h = new History(t)
  await deployInstance(t)
  await h.batch(all(t), 12, 'warm')

  await t.partition([
    [0, 1],
    [2, 3],
  ])
  await sleep(1000) // messages already delivered before the cut may still complete a block
  const window = await noQuorumWindow(t, all(t))
  const during = await h.batch(all(t), 4, 'split')
  await window.check()
  assert.deepEqual(
    during.map((o) => o.outcome),
    ['timeout', 'timeout', 'timeout', 'timeout'],
    `clients must get timeouts while no side has a quorum: ${JSON.stringify(during.map((o) => o.detail))}`,
  )

  await t.heal()
  const after = await h.batch(all(t), 12, 'healed')
  assert.ok(after.every((o) => o.outcome === 'ok'), `commits did not resume after heal: ${h.summary()}`)
  return checkLedger(t, h, all(t))
}
