import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { toHex } from '@vigil/common'
import { makeTx, sendTx } from '@vigil/cli'
import { Cluster, waitFor } from '../src/cluster.js'
import { sameChain } from '../src/checks.js'
import { clients, kvLoad } from '../src/load.js'

/**
 * Issue 18 point 5, a port of Hyperledger Fabric v0.6's BDD scenario "quorum lost then regained"
 * (#1874): the write left pending while only two of four peers ran must commit once the first
 * stopped peer returns, and so must later writes.
 */
describe('quorum lost, then regained', { timeout: 300_000 }, () => {
  let c: Cluster
  before(async () => {
    c = await Cluster.started({ consensus: { viewChangeTimeoutMs: 1000 } })
    await c.deploy(0, 'kv1', 'kv')
  })
  after(async () => c?.destroy())

  it('stop the primary, write, stop a backup, write (pending), start the first stopped peer: the pending write and later ones commit on the three running peers', async () => {
    const [key] = clients(1)
    const firstPrimary = (await c.status(0))!.primary
    await c.stop(firstPrimary)
    const survivors = [0, 1, 2, 3].filter((i) => i !== firstPrimary)
    const w1 = await c.submit(survivors[0]!, key!, 'kv1', 'put', { key: 'after-primary-stopped', value: 1 })
    assert.equal(w1.result.ok, true)
    await c.waitHeight(w1.height, survivors)

    const newPrimary = (await c.status(survivors[0]!))!.primary
    assert.notEqual(newPrimary, firstPrimary, 'no view change after the primary stopped')
    // A backup of the new view stops: the other backup is the one that times out alone.
    const secondStopped = survivors.find((i) => i !== newPrimary)!
    await c.stop(secondStopped)
    const left = survivors.filter((i) => i !== secondStopped)
    const lone = left.find((i) => i !== newPrimary)!
    const heightsBefore = await Promise.all(left.map(async (i) => (await c.status(i))!.height))
    const pending = makeTx(c.chainId, key!, 'kv1', 'put', { key: 'without-quorum', value: 2 })
    await sendTx(c.api(lone), pending, false)
    // Several request timeouts: two of four peers must not commit.
    await new Promise((r) => setTimeout(r, 5000))
    const heightsMid = await Promise.all(left.map(async (i) => (await c.status(i))!.height))
    assert.deepEqual(heightsMid, heightsBefore, 'the two running peers committed without a quorum')
    await assert.rejects(c.api(lone).get(`/v1/tx/${toHex(pending.id)}`), (e: { status: number }) => e.status === 404)

    c.start(firstPrimary)
    const running = [...left, firstPrimary].sort((a, b) => a - b)
    const at: Array<number | null> = running.map(() => null)
    await waitFor(
      async () => {
        await Promise.all(
          running.map(async (i, k) => {
            at[k] ??= await c.api(i).get<{ height: number }>(`/v1/tx/${toHex(pending.id)}`).then((t) => t.height, () => null)
          }),
        )
        return at.every((h) => h !== null)
      },
      90_000,
      async () =>
        `the pending write did not commit on every running peer after vp${firstPrimary} returned (committed at: ${JSON.stringify(running.map((i, k) => [i, at[k]]))}; ` +
        `status: ${JSON.stringify(await Promise.all(running.map(async (i) => ({ vp: i, ...(await c.status(i)) }))))})\n` +
        running.map((i) => `vp${i}:\n${c.logTail(i, 10)}`).join('\n'),
    )
    assert.equal(new Set(at).size, 1, `the pending write is at different heights: ${JSON.stringify(at)}`)

    // Later writes, through every running peer, commit too.
    const later = await kvLoad(c, clients(3), 'kv1', 12, 'later', [secondStopped])
    for (const r of later) assert.equal(r.result.ok, true)
    const top = Math.max(...later.map((r) => r.height))
    await c.waitHeight(top, running)
    await sameChain(c, running, top)
  })

  it('a peer that (re)connects is offered the transactions pending on the others', async () => {
    const [key] = clients(1)
    const alive = [0, 1, 2, 3].filter((i) => c.running(i))
    const [holder, ...rest] = alive
    for (const i of rest) await c.stop(i)
    const pending = makeTx(c.chainId, key!, 'kv1', 'put', { key: 'offered', value: 3 })
    await sendTx(c.api(holder!), pending, false)
    // Two of four: no quorum, so the transaction stays pending and only the offer can bring it.
    const back = [0, 1, 2, 3].find((i) => i !== holder)!
    c.start(back)
    await waitFor(
      async () => (await c.api(back, 2000).get<{ mempool: number }>('/v1/status').catch(() => ({ mempool: 0 }))).mempool >= 1,
      30_000,
      async () => `vp${back} was not offered the transaction pending on vp${holder}: ${JSON.stringify(await c.status(back))}\n${c.logTail(back, 10)}`,
    )
  })
})
