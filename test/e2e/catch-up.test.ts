import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { cpSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { Cluster, waitFor } from '../src/cluster.js'
import { clients, kvLoad } from '../src/load.js'
import { certSigners, sameChain } from '../src/checks.js'
import { ready, sleep } from '../src/scenarios/peers.js'

/** Blocks this peer fetched by block sync (its metrics). */
async function syncedBlocks(c: Cluster, i: number): Promise<number> {
  const text = await (await fetch(`${c.manifest.nodes[i]!.api}/metrics`, { signal: AbortSignal.timeout(10_000) })).text()
  return Number(/^vigil_synced_blocks_total (\d+)$/m.exec(text)?.[1] ?? NaN)
}

/** Issue 5: a peer that was down heals itself from its peers and rejoins PBFT. */
describe('catch-up after restart', { timeout: 600_000 }, () => {
  const clusters: Cluster[] = []
  after(async () => Promise.all(clusters.map((c) => c.destroy())))

  it('seed scenario: VP1 down, others commit, VP1 syncs and then is part of the quorum after the primary dies', async () => {
    const c = await Cluster.started()
    clusters.push(c)
    const keys = clients(3)
    await c.deploy(0, 'kv1', 'kv')
    await kvLoad(c, keys, 'kv1', 20, 'a')
    await c.stop(1, 'SIGTERM')
    const whileDown = await kvLoad(c, keys, 'kv1', 40, 'b', [1])
    const top = Math.max(...whileDown.map((r) => r.height))
    c.start(1)
    await c.waitReady([1])
    await c.waitHeight(top, [1])
    await sameChain(c, [0, 1, 2, 3], top)
    const s = await Promise.all([0, 1].map((i) => c.status(i)))
    assert.equal(s[0]!.height === s[1]!.height ? s[0]!.stateRoot : s[1]!.stateRoot, s[1]!.stateRoot)

    const primary = (await c.status(0))!.primary
    assert.notEqual(primary, 1, 'test expects VP1 not to be the primary')
    await c.stop(primary, 'SIGKILL')
    const rest = [0, 1, 2, 3].filter((i) => i !== primary)
    const later = await kvLoad(c, keys, 'kv1', 20, 'c', [primary])
    for (const r of later) assert.equal(r.result.ok, true)
    // With one peer down, every certificate needs all three survivors: VP1 signs them.
    const heights = [...new Set(later.map((r) => r.height))]
    for (const h of heights) assert.ok((await certSigners(c, rest[0]!, h)).includes(1), `VP1 did not sign block ${h}`)
    const end = Math.max(...later.map((r) => r.height))
    await c.waitHeight(end, rest)
    await sameChain(c, rest, end)
  })

  it('a peer stalled under load past several checkpoints syncs, then votes again instead of chasing the tip by sync', async () => {
    const c = await Cluster.started()
    clusters.push(c)
    const keys = clients(4)
    await c.deploy(0, 'kv1', 'kv')
    const primary = (await c.status(0))!.primary
    const slow = primary === 2 ? 1 : 2
    const others = [0, 1, 2, 3].filter((i) => i !== slow)
    let loading = true
    let round = 0
    const load = (async () => {
      while (loading) await kvLoad(c, keys, 'kv1', 16, `s${round++}-`, [slow])
    })()
    try {
      // A stall (a VM pause, a long GC) while the others commit: their logs move past it.
      const from = (await c.status(primary))!.height
      c.procs[slow]!.kill('SIGSTOP')
      await waitFor(async () => (await c.status(primary))!.height >= from + 60, 60_000, () => 'the other three did not commit 60 blocks')
      c.procs[slow]!.kill('SIGCONT')
      await waitFor(async () => (await c.status(slow))!.height >= (await c.status(primary))!.height - 2, 60_000, async () => `vp${slow} did not catch up:\n${c.logTail(slow)}`)
      // Caught up, it follows in consensus: blocks keep coming, but not through block sync.
      const a = { height: (await c.status(slow))!.height, synced: await syncedBlocks(c, slow) }
      await waitFor(async () => (await c.status(slow))!.height >= a.height + 40, 60_000, () => `vp${slow} stopped following`)
      const b = { height: (await c.status(slow))!.height, synced: await syncedBlocks(c, slow) }
      assert.ok(b.synced - a.synced < (b.height - a.height) / 2, `vp${slow} got ${b.synced - a.synced} of its last ${b.height - a.height} blocks by sync:\n${c.logTail(slow)}`)
    } finally {
      loading = false
      await load
    }
    // With the primary gone, every certificate needs all three survivors, the stalled peer too.
    await c.stop(primary, 'SIGKILL')
    const later = await kvLoad(c, keys, 'kv1', 20, 'after-', [primary])
    const rest = others.filter((i) => i !== primary)
    for (const h of new Set(later.map((r) => r.height))) assert.ok((await certSigners(c, rest[0]!, h)).includes(slow), `vp${slow} did not sign block ${h}`)
  })

  it('a peer down for 2,000 blocks catches up (rate reported)', async () => {
    const c = await Cluster.started({ consensus: { batchMaxCount: 4 } })
    clusters.push(c)
    const keys = clients(4)
    await c.deploy(0, 'kv1', 'kv')
    await c.stop(3, 'SIGTERM')
    const start = (await c.status(0))!.height
    let sent = 0
    while ((await c.status(0))!.height < start + 2000) {
      await kvLoad(c, keys, 'kv1', 24, `w${sent}-`, [3])
      sent += 24
    }
    const target = (await c.status(0))!.height
    const t0 = Date.now()
    c.start(3)
    // Polled while it syncs: /v1/status reports the progress and /readyz says not ready.
    // Readiness is asked first: a sync that ends between the two answers then shows as not
    // ready and not syncing, where the other order would record a ready peer as syncing.
    const seen: Array<{ syncing: { from: number; to: number; current: number }; ready: boolean }> = []
    let done = false
    const watching = (async () => {
      while (!done) {
        const isReady = await ready(c, 3)
        const s = await c.status(3)
        if (s?.syncing) seen.push({ syncing: s.syncing, ready: isReady })
        await sleep(50)
      }
    })()
    await c.waitHeight(target, [3], 120_000).finally(() => (done = true))
    await watching
    const secs = (Date.now() - t0) / 1000
    const midway = seen.filter((x) => x.syncing.current > x.syncing.from && x.syncing.current < x.syncing.to)
    assert.ok(midway.length > 0, `no status showed sync progress between its ends: ${JSON.stringify(seen.slice(0, 5))}`)
    assert.ok(seen.every((x) => !x.ready), '/readyz said ready while syncing')
    const log = readFileSync(c.logFile(3), 'utf8')
    const fin = log.split('\n').filter((l) => l.includes('block sync finished')).map((l) => JSON.parse(l) as { blocks: number; seconds: number; blocksPerSec: number })
    const synced = fin.reduce((a, f) => a + f.blocks, 0)
    assert.ok(synced >= target - start - 5, `only ${synced} blocks came through block sync`)
    console.log(`catch-up: ${target - start} blocks (${sent} transactions) in ${secs.toFixed(1)} s from restart = ${Math.round((target - start) / secs)} blocks/s, ${Math.round(sent / secs)} tx/s; sync alone ${fin.map((f) => `${f.blocks} blocks in ${f.seconds} s`).join(', ')}`)
    await sameChain(c, [0, 3], target)
  })

  it('a forged block from a malicious sync responder is refused and the peer syncs from honest ones', async () => {
    const c = await Cluster.started({ consensus: { batchMaxCount: 2 } })
    clusters.push(c)
    const keys = clients(2)
    await c.deploy(0, 'kv1', 'kv')
    await c.stop(1, 'SIGTERM')
    // Enough blocks that the sync pipeline asks all three sources (more than two ranges of 64).
    const first = (await c.status(0))!.height
    for (let w = 0; (await c.status(0))!.height < first + 160; w++) await kvLoad(c, keys, 'kv1', 40, `f${w}-`, [1])
    // VP3 goes down; a liar with VP3's key and a copy of its ledger takes its place. VP2 and VP0
    // stop too, so the liar is VP1's only source when it comes back (with VP0 up, whether VP1
    // asked the liar at all depended on which link came up first); VP0 returns once the liar
    // has served a forged block, and VP1 must then finish from it.
    await c.stop(3, 'SIGTERM')
    await c.stop(2, 'SIGTERM')
    const top = (await c.status(0))!.height
    await c.stop(0, 'SIGTERM')
    const copy = join(c.dir, 'liar-data')
    cpSync(join(c.home(3), 'data'), copy, { recursive: true })
    // With its head's certificate: as VP1's only source, it must prove the height it claims.
    const liar = spawn(process.execPath, [new URL('../src/liar-peer.js', import.meta.url).pathname, c.home(3), copy, '--cert'], { stdio: ['ignore', 'pipe', 'inherit'] })
    let liarOut = ''
    liar.stdout.on('data', (d: Buffer) => (liarOut += d.toString()))
    try {
      await waitFor(async () => liarOut.includes('liar ready'), 20_000, () => `liar did not start: ${liarOut}`)
      c.start(1)
      await waitFor(async () => /forged [1-9]/.test(liarOut), 60_000, () => `the liar was never asked for blocks: ${liarOut}\n${c.logTail(1)}`)
      c.start(0)
      // VP0 alone covers every block but the last (nothing commits after it without a quorum):
      // VP2's head naming it too is the cover.
      await c.waitHeight(top - 1, [1], 120_000)
      c.start(2)
      await c.waitHeight(top, [1], 120_000)
      await sameChain(c, [0, 1, 2], top)
      const log = readFileSync(c.logFile(1), 'utf8')
      assert.match(log, /banned vp3 from block sync/)
      assert.match(log, /(certificate is for another batch|batch digest does not match|transactions do not match txRoot)/)
    } finally {
      liar.kill('SIGKILL')
    }
  })
})
