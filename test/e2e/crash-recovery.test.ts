import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { Cluster, waitFor, type Committed } from '../src/cluster.js'
import { allAcknowledgedPresent, sameChain } from '../src/checks.js'
import { clients, kvLoad } from '../src/load.js'

/** A small seeded PRNG (mulberry32) so a failing kill schedule can be replayed with VIGIL_KILL_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Issue 5: crashes at any moment never corrupt a peer or make it vote twice; whole-network restarts keep all data. */
describe('crash recovery', { timeout: 900_000 }, () => {
  const clusters: Cluster[] = []
  after(async () => Promise.all(clusters.map((c) => c.destroy())))

  it('SIGKILL of a random peer at random moments under load, 20 times: each restart catches up and all chains stay identical', async () => {
    const seed = Number(process.env.VIGIL_KILL_SEED ?? Date.now() % 1_000_000)
    console.log(`kill loop seed ${seed} (replay with VIGIL_KILL_SEED=${seed})`)
    const rand = prng(seed)
    const c = await Cluster.started()
    clusters.push(c)
    await c.deploy(0, 'kv1', 'kv')
    const keys = clients(4)
    const acked: Committed[] = []
    let stop = false
    let down = -1
    let failures = 0
    // Load through the peers that are up; a request to a peer killed mid-flight may fail, an acknowledged one must survive.
    const load = (async () => {
      for (let w = 0; !stop; w++) {
        const avoid = down >= 0 ? [down] : []
        try {
          acked.push(...(await kvLoad(c, keys, 'kv1', 8, `w${w}-`, avoid)))
        } catch {
          failures++
          await sleep(100)
        }
      }
    })()
    const kills = 20
    for (let k = 0; k < kills; k++) {
      const victim = Math.floor(rand() * 4)
      await sleep(200 + rand() * 800)
      down = victim
      await c.stop(victim, 'SIGKILL')
      await sleep(100 + rand() * 500)
      const others = [0, 1, 2, 3].filter((i) => i !== victim)
      c.start(victim)
      await c.waitReady([victim], 60_000)
      down = -1
      const target = Math.min(...(await Promise.all(others.map((i) => c.status(i)))).map((s) => s!.height))
      await c.waitHeight(target, [victim], 60_000)
    }
    stop = true
    await load
    assert.ok(acked.length > 100, `only ${acked.length} transactions acknowledged`)
    const top = Math.max(...acked.map((r) => r.height))
    await c.waitHeight(top)
    await sameChain(c, [0, 1, 2, 3], top)
    await allAcknowledgedPresent(c, [0, 1, 2, 3], acked)
    console.log(`kill loop: ${kills} kills, ${acked.length} transactions acknowledged and present on all peers, ${failures} load waves interrupted by a kill, height ${top}`)
  })

  it('the whole network stopped and started keeps all data; stop three, restart two: commits continue', async () => {
    const c = await Cluster.started()
    clusters.push(c)
    await c.deploy(0, 'kv1', 'kv')
    const keys = clients(2)
    const first = await kvLoad(c, keys, 'kv1', 30, 'a')
    const before = await Promise.all([0, 1, 2, 3].map((i) => c.status(i)))
    await Promise.all([0, 1, 2, 3].map((i) => c.stop(i, 'SIGTERM')))
    c.startAll()
    await c.waitReady()
    // Each peer comes back with at least the blocks it had (a peer stopped one block behind catches up afterwards).
    const again = await Promise.all([0, 1, 2, 3].map((i) => c.status(i)))
    again.forEach((s, i) => assert.ok(s!.height >= before[i]!.height, `vp${i} lost blocks: ${s!.height} < ${before[i]!.height}`))
    const second = await kvLoad(c, keys, 'kv1', 30, 'b')

    // Fabric's crash-recovery scenario: stop three peers, restart two, commits continue.
    await Promise.all([1, 2, 3].map((i) => c.stop(i, 'SIGTERM')))
    c.start(1)
    c.start(2)
    await c.waitReady([0, 1, 2])
    const third = await kvLoad(c, keys, 'kv1', 30, 'c', [3])
    c.start(3)
    await c.waitReady([3])
    const all = [...first, ...second, ...third]
    const top = Math.max(...all.map((r) => r.height))
    await waitFor(async () => (await c.status(3))!.height >= top, 60_000, () => 'vp3 did not catch up')
    await sameChain(c, [0, 1, 2, 3], top)
    await allAcknowledgedPresent(c, [0, 1, 2, 3], all)
  })
})
