import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { cpSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { Cluster, waitFor, type Committed } from '../src/cluster.js'
import { allAcknowledgedPresent, sameChain } from '../src/checks.js'
import { clients, kvLoad } from '../src/load.js'

const LIAR = 3

/** vigil_sync_faults_total of peer i against the liar, by reason. */
async function syncFaults(c: Cluster, i: number): Promise<Record<string, number>> {
  const text = await (await fetch(`${c.manifest.nodes[i]!.api}/metrics`, { signal: AbortSignal.timeout(10_000) })).text()
  const out: Record<string, number> = {}
  for (const m of text.matchAll(new RegExp(`^vigil_sync_faults_total\\{peer="${LIAR}",reason="([a-z-]+)"\\} (\\d+)$`, 'gm'))) out[m[1]!] = Number(m[2])
  return out
}

/**
 * Issue 18 points 3 and 4 with real processes: VP3 is replaced by test/src/liar-peer.ts (VP3's
 * key, a copy of its ledger) lying to block sync; VP0-VP2 stay honest and, with the liar not
 * voting, are the quorum. A restarted honest peer must catch up from the honest ones, commits
 * must go on, the honest peers must hold one chain, and the liar must be named in the logs and
 * in /metrics.
 */
describe('a Byzantine validator lying to block sync', { timeout: 600_000 }, () => {
  const clusters: Cluster[] = []
  const liars: ChildProcess[] = []
  after(async () => {
    for (const l of liars) l.kill('SIGKILL')
    await Promise.all(clusters.map((c) => c.destroy()))
  })

  /** VP3 stops and the liar takes its place with a copy of its ledger; resolves once it listens. */
  async function replaceWithLiar(c: Cluster, mode: string): Promise<{ out: () => string }> {
    await c.stop(LIAR, 'SIGTERM')
    const copy = join(c.dir, 'liar-data')
    cpSync(join(c.home(LIAR), 'data'), copy, { recursive: true })
    const liar = spawn(process.execPath, [new URL('../src/liar-peer.js', import.meta.url).pathname, c.home(LIAR), copy, '--mode', mode], { stdio: ['ignore', 'pipe', 'inherit'] })
    liars.push(liar)
    let out = ''
    liar.stdout!.on('data', (d: Buffer) => (out += d.toString()))
    await waitFor(async () => out.includes('liar ready'), 30_000, () => `the liar did not start: ${out}`)
    return { out: () => out }
  }

  /** Writes through the honest peers commit, the three hold one chain with every acknowledged write. */
  async function honestGoOn(c: Cluster, keys: ReturnType<typeof clients>, acked: Committed[], prefix: string): Promise<void> {
    const later = await kvLoad(c, keys, 'kv1', 20, prefix, [LIAR])
    for (const r of later) assert.equal(r.result.ok, true, JSON.stringify(r))
    acked.push(...later)
    const end = Math.max(...later.map((r) => r.height))
    await c.waitHeight(end, [0, 1, 2], 60_000)
    await sameChain(c, [0, 1, 2], end)
    await allAcknowledgedPresent(c, [0, 1, 2], acked)
  }

  it('lie-height: a liar claiming a huge height and serving nothing pins nobody; the restarted peer catches up and commits go on', async () => {
    const c = await Cluster.started({ consensus: { batchMaxCount: 2 } })
    clusters.push(c)
    const keys = clients(2)
    await c.deploy(0, 'kv1', 'kv')
    const acked = await kvLoad(c, keys, 'kv1', 10, 'a')
    await c.stop(1, 'SIGTERM')
    acked.push(...(await kvLoad(c, keys, 'kv1', 40, 'b', [1])))
    const top = (await c.status(0))!.height
    await replaceWithLiar(c, 'lie-height')
    c.start(1)
    // Every peer starts paused until its first catch-up: believing the liar kept VP1 there for ever.
    await c.waitHeight(top, [1], 60_000).catch(async (err: Error) => assert.fail(`${err.message}\n${c.logTail(1)}`))
    await honestGoOn(c, keys, acked, 'c')
    // Named by the restarted peer, and by the idle honest ones whose lag probes heard the claim.
    for (const i of [0, 1, 2]) {
      const f = await syncFaults(c, i)
      assert.ok((f['unproven-height'] ?? 0) >= 1, `vp${i} did not count the liar's claim: ${JSON.stringify(f)}`)
    }
    assert.match(readFileSync(c.logFile(1), 'utf8'), /vp3 \(block sync, strike 1 of 3\): claimed height 1000000000, above the proven \d+, without evidence/)
  })

  it('bad-sig: blocks with a signature byte flipped and re-executed to match are refused; the liar is banned and the peer keeps the true chain', async () => {
    const c = await Cluster.started({ consensus: { batchMaxCount: 2 } })
    clusters.push(c)
    const keys = clients(2)
    await c.deploy(0, 'kv1', 'kv')
    const acked: Committed[] = []
    await c.stop(1, 'SIGTERM')
    // More than two ranges of 64 blocks, so that VP1's sync asks both of its sources.
    const first = (await c.status(0))!.height
    for (let w = 0; (await c.status(0))!.height < first + 160; w++) acked.push(...(await kvLoad(c, keys, 'kv1', 40, `f${w}-`, [1])))
    // VP2 stops too: VP1's sources are VP0 and the liar until VP2 is back.
    await c.stop(2, 'SIGTERM')
    const top = (await c.status(0))!.height
    const liar = await replaceWithLiar(c, 'bad-sig')
    c.start(1)
    await waitFor(async () => /forged [1-9]/.test(liar.out()), 60_000, () => `the liar was never asked for blocks: ${liar.out()}\n${c.logTail(1)}`)
    c.start(2)
    await c.waitHeight(top, [1], 120_000).catch(async (err: Error) => assert.fail(`${err.message}\n${c.logTail(1)}`))
    await sameChain(c, [0, 1], top)
    await honestGoOn(c, keys, acked, 'g')
    // Once ids cover signatures, the altered transaction is no longer the certified one: refused by the batch digest or txRoot.
    assert.match(readFileSync(c.logFile(1), 'utf8'), /banned vp3 from block sync for 60 s: served a block that failed verification: block \d+: (transaction [0-9a-f]{64} \(index 0\): transaction signature does not verify|transactions do not match txRoot|batch digest does not match its time, parent and transactions)/)
    const f = await syncFaults(c, 1)
    assert.ok((f['bad-block'] ?? 0) >= 1, `vp1 did not count the liar's block: ${JSON.stringify(f)}`)
  })
})
