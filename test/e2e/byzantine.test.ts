import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { afterEach, describe, it } from 'node:test'
import { toHex } from '@vigil/common'
import { makeTx, sendTx } from '@vigil/cli'
import { waitFor, type Cluster, type Committed } from '../src/cluster.js'
import { clients, kvLoad } from '../src/load.js'
import { assertHonestHold, assertIdentified, assertNoHonestBlamed, byzantineCluster, fullyConnected, metric, misbehaved, waitMisbehaved } from '../src/byzantine.js'
import { sleep } from '../src/scenarios/peers.js'

/**
 * Issue 18: one validator holding its real key and running the real node code
 * (test/src/byzantine-peer.ts) misbehaves in a named way among three honest peers (n = 4).
 * Every case asserts that the honest peers keep one chain, hold every acknowledged write with
 * its acknowledged result, keep committing, and name the liar in their logs and /metrics.
 */
describe('one Byzantine validator among four', { timeout: 1_800_000 }, () => {
  const clusters: Cluster[] = []
  // Each case's peers go before the next case starts: a liar left running would load the machine.
  afterEach(async () => {
    await Promise.all(clusters.map((c) => c.destroy()))
    clusters.length = 0
  })

  const started = async (byz: number, behave: string, consensus: Record<string, number> = {}): Promise<Cluster> => {
    const c = await byzantineCluster(byz, behave, { consensus })
    clusters.push(c)
    c.startAll()
    await c.waitReady()
    await fullyConnected(c)
    return c
  }

  /** Polls peer `via` until the transaction is committed there; the record it was committed with. */
  const committed = async (c: Cluster, via: number, txId: string, what: () => string, timeoutMs = 90_000): Promise<Committed> => {
    let found: Committed | null = null
    await waitFor(
      async () => {
        found = await c.api(via).get<Committed>(`/v1/tx/${txId}`).catch(() => null)
        return found !== null
      },
      timeoutMs,
      async () => `${what()} did not commit on vp${via} (status ${JSON.stringify(await c.status(via))})`,
    )
    return found!
  }

  it('payload substitution: a restarted peer handed COMMITTED batches with another valid transaction under a certified id', async () => {
    const byz = 0
    const victim = 3
    // A wide checkpoint window: the victim's gap stays inside it, so the liar's COMMITTED messages reach it.
    const c = await started(byz, 'substitute-committed', { checkpointInterval: 100, watermarkWindow: 200 })
    const keys = clients(3)
    const acked = [await c.deploy(1, 'kv1', 'kv'), ...(await kvLoad(c, keys, 'kv1', 8, 'a', [byz]))]
    const stoppedAt = (await c.status(victim))!.height
    await c.stop(victim)
    acked.push(...(await kvLoad(c, keys, 'kv1', 12, 'b', [byz, victim])))
    // vp1 is the victim's other helper and vp2 a sync source: with both down the liar is all it hears.
    await c.stop(1)
    await c.stop(2)
    c.start(victim)
    await waitMisbehaved(c, byz, 'substitute-committed', `send vp${victim} a COMMITTED batch`, victim)
    await waitFor(
      async () => ((await c.status(victim))?.height ?? -1) > stoppedAt || readFileSync(c.logFile(victim), 'utf8').includes('"msg":"peer misbehaved"'),
      60_000,
      () => `vp${victim} neither executed nor refused the substituted batches:\n${c.logTail(victim, 12)}`,
    )
    c.start(1)
    c.start(2)
    await c.waitReady([1, 2])
    const honest = [1, 2, 3]
    for (const s of misbehaved(c, byz, 'substitute-committed', victim)) {
      for (const i of honest) {
        const held = await c.api(i).get(`/v1/tx/${String(s.substitute)}`).then(() => true, () => false)
        assert.equal(held, false, `vp${i} holds ${String(s.substitute)}, a transaction nobody submitted, substituted by vp${byz} under certified id ${String(s.id)}`)
      }
    }
    await assertHonestHold(c, { byz, honest, acked, keys, instance: 'kv1' })
    await assertIdentified(c, victim, byz)
  })

  it('equivocation: a primary sends each peer its own signed PRE-PREPARE', async () => {
    const byz = 0
    const c = await started(byz, 'equivocate', { viewChangeTimeoutMs: 1000 })
    const keys = clients(3)
    // Nothing can gather a quorum in view 0: the deploy commits only after a view change.
    const acked = [await c.deploy(1, 'kv1', 'kv')]
    await waitMisbehaved(c, byz, 'equivocate', 'equivocate')
    acked.push(...(await kvLoad(c, keys, 'kv1', 10, 'a', [byz])))
    const honest = [1, 2, 3]
    for (const i of honest) {
      const s = (await c.status(i))!
      assert.notEqual(s.primary, byz, `vp${i} still follows the equivocating primary vp${byz} (view ${s.view})`)
    }
    await assertHonestHold(c, { byz, honest, acked, keys, instance: 'kv1' })
    for (const i of honest) await assertIdentified(c, i, byz)
    assert.equal(await c.stop(byz, 'SIGTERM'), 0, `the Byzantine peer did not stop cleanly on SIGTERM:\n${c.logTail(byz, 5)}`)
  })

  it('lying height and empty sync: a peer claims a million blocks more and answers every range with nothing', async () => {
    const byz = 3
    const honest = [0, 1, 2]
    const c = await byzantineCluster(byz, 'lie-height,empty-sync')
    clusters.push(c)
    c.startAll()
    await c.waitReady(honest, 90_000)
    const keys = clients(3)
    const acked = [await c.deploy(0, 'kv1', 'kv'), ...(await kvLoad(c, keys, 'kv1', 10, 'a', [byz]))]
    await waitMisbehaved(c, byz, 'lie-height', 'claim a height')
    // Idle, so that every honest peer's lag probe sees its head stand still against the claim.
    await sleep(5000)
    acked.push(...(await kvLoad(c, keys, 'kv1', 10, 'b', [byz])))
    await assertHonestHold(c, { byz, honest, acked, keys, instance: 'kv1' })
    for (const i of honest) await assertIdentified(c, i, byz)
  })

  it('forged tip: a sync server re-signs one transaction of the last block it serves with garbage, results and state root to match', async () => {
    const byz = 3
    const victim = 1
    const honest = [0, 1, 2]
    const c = await started(byz, 'forged-tip')
    const keys = clients(3)
    const acked = [await c.deploy(0, 'kv1', 'kv'), ...(await kvLoad(c, keys, 'kv1', 10, 'a', [byz]))]
    await c.stop(victim)
    acked.push(...(await kvLoad(c, keys, 'kv1', 10, 'b', [byz, victim])))
    // The liar is the victim's only sync source when it returns.
    await c.stop(0)
    await c.stop(2)
    c.start(victim)
    await waitMisbehaved(c, byz, 'forged-tip', `serve vp${victim} a forged tip`, victim)
    const forgedAt = Number(misbehaved(c, byz, 'forged-tip', victim)[0]!.height)
    await waitFor(
      async () => ((await c.status(victim))?.height ?? -1) >= forgedAt || readFileSync(c.logFile(victim), 'utf8').includes(`banned vp${byz} from block sync`),
      60_000,
      () => `vp${victim} neither stored nor refused the forged block ${forgedAt}:\n${c.logTail(victim, 12)}`,
    )
    c.start(0)
    c.start(2)
    await c.waitReady([0, 2])
    await assertHonestHold(c, { byz, honest, acked, keys, instance: 'kv1' })
    await assertIdentified(c, victim, byz)
    await assertNoHonestBlamed(c, victim, honest)
  })

  it('censorship: a primary never proposes one signer\'s transactions; that signer\'s write still commits, after a view change', async () => {
    const byz = 0
    const honest = [1, 2, 3]
    const censoredKey = clients(1)[0]!
    const c = await started(byz, `censor:${toHex(censoredKey.publicKey)}`, { viewChangeTimeoutMs: 2000 })
    const keys = clients(3)
    const acked = [await c.deploy(1, 'kv1', 'kv'), ...(await kvLoad(c, keys, 'kv1', 6, 'a', [byz]))]
    // Everyone else keeps writing at a steady rate, without waiting for commits, so that batches
    // keep executing (progress for the primary) the whole time one signer waits.
    let loading = true
    let sent = 0
    const load = (async () => {
      while (loading) {
        const via = honest[sent % honest.length]!
        await sendTx(c.api(via), makeTx(c.chainId, keys[sent % keys.length]!, 'kv1', 'put', { key: `bg${sent}`, value: sent }), false)
        sent++
        await sleep(50)
      }
    })()
    const tx = makeTx(c.chainId, censoredKey, 'kv1', 'put', { key: 'censored', value: 1 })
    let censored: Committed
    try {
      await sendTx(c.api(1), tx, false)
      await waitMisbehaved(c, byz, 'censor', 'censor the signer')
      censored = await committed(c, 1, toHex(tx.id), () => `the censored signer's transaction (while ${sent} others were submitted)`)
    } finally {
      loading = false
      await load
    }
    assert.equal(censored.result.ok, true, `the censored write failed: ${censored.result.error}`)
    acked.push(censored)
    for (const i of honest) {
      const s = (await c.status(i))!
      assert.notEqual(s.primary, byz, `vp${i} still follows the censoring primary vp${byz}`)
      assert.ok((await metric(c, i, 'vigil_view_changes_total')) >= 1, `vp${i} counts no view change in /metrics`)
      const reasons = readFileSync(c.logFile(i), 'utf8').split('\n').filter((l) => l.includes('"msg":"starting a view change"'))
      assert.ok(reasons.length > 0, `vp${i}'s log records no view change away from vp${byz}`)
      console.log(`vp${i}: ${reasons.map((l) => (JSON.parse(l) as { reason: string }).reason).join('; ')}`)
    }
    await assertHonestHold(c, { byz, honest, acked, keys, instance: 'kv1' })
  })

  it('doctored VIEW-CHANGE: prepared certificates omitted and one altered, re-signed', async () => {
    const byz = 3
    const honest = [0, 1, 2]
    // A wide checkpoint window: the liar holds prepared certificates to doctor when the view changes.
    const c = await started(byz, 'doctored-viewchange', { viewChangeTimeoutMs: 1000, checkpointInterval: 100, watermarkWindow: 200 })
    const keys = clients(3)
    const acked = [await c.deploy(1, 'kv1', 'kv'), ...(await kvLoad(c, keys, 'kv1', 10, 'a', [byz]))]
    // The primary of view 0 crashes; a write waits for the view change, in which the liar's VIEW-CHANGE is one of three.
    await c.stop(0, 'SIGKILL')
    const tx = makeTx(c.chainId, keys[0]!, 'kv1', 'put', { key: 'during-view-change', value: 1 })
    await sendTx(c.api(1), tx, false)
    await waitMisbehaved(c, byz, 'doctored-viewchange', 'send a doctored VIEW-CHANGE')
    // The crashed peer returns: with it, the honest peers form a view-change quorum without the liar.
    c.start(0)
    const r = await committed(c, 1, toHex(tx.id), () => 'the write submitted during the view change')
    acked.push(r)
    await assertHonestHold(c, { byz, honest, acked, keys, instance: 'kv1' })
    for (const i of [1, 2]) await assertIdentified(c, i, byz)
  })
})
