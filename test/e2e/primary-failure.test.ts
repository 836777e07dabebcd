import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { toHex } from '@vigil/common'
import { makeTx, sendTx } from '@vigil/cli'
import { Cluster, waitFor } from '../src/cluster.js'
import { clients, kvLoad } from '../src/load.js'

/** Issue 4: a view change replaces a crashed primary; without a quorum nothing commits and nothing wrong is written. */
describe('primary crash and loss of quorum', { timeout: 240_000 }, () => {
  let c: Cluster
  before(async () => {
    c = await Cluster.started({ consensus: { viewChangeTimeoutMs: 1000 } })
    await c.deploy(0, 'kv1', 'kv')
  })
  after(async () => c?.destroy())

  it('SIGKILL of the primary mid-load: a view change happens and later transactions commit on the 3 survivors', async () => {
    const keys = clients(3)
    const primary = (await c.status(0))!.primary
    const survivors = [0, 1, 2, 3].filter((i) => i !== primary)
    // Load in flight while the primary dies: submitted through survivors, so every one must commit.
    const during = kvLoad(c, keys, 'kv1', 30, 'during', [primary])
    await new Promise((r) => setTimeout(r, 150))
    await c.stop(primary, 'SIGKILL')
    const first = await during
    for (const r of first) assert.equal(r.result.ok, true)

    const afterKill = await kvLoad(c, keys, 'kv1', 30, 'after', [primary])
    for (const r of afterKill) assert.equal(r.result.ok, true)
    const st = await Promise.all(survivors.map((i) => c.status(i)))
    for (const s of st) assert.ok(s!.view > 0, `vp${s!.node.index} is still in view 0`)
    assert.equal(new Set(st.map((s) => s!.primary)).size, 1)
    assert.notEqual(st[0]!.primary, primary)
    const top = Math.max(...afterKill.map((r) => r.height))
    await c.waitHeight(top, survivors)
  })

  it('with 2 of 4 down nothing commits; when one returns, commits resume', async () => {
    const down = [0, 1, 2, 3].filter((i) => !c.running(i))
    const alive = [0, 1, 2, 3].filter((i) => c.running(i))
    const victim = alive[0]!
    await c.stop(victim, 'SIGKILL')
    const left = alive.filter((i) => i !== victim)
    const before = await Promise.all(left.map((i) => c.status(i)))
    const key = clients(1)[0]!
    const tx = makeTx(c.chainId, key, 'kv1', 'put', { key: 'no-quorum', value: 1 })
    await sendTx(c.api(left[0]!), tx, false)
    // Give the two survivors ample time: they must not commit without a quorum.
    await new Promise((r) => setTimeout(r, 4000))
    const mid = await Promise.all(left.map((i) => c.status(i)))
    mid.forEach((s, k) => assert.equal(s!.height, before[k]!.height, `vp${left[k]} committed without a quorum`))
    await assert.rejects(c.api(left[0]!).get(`/v1/tx/${toHex(tx.id)}`), (e: { status: number }) => e.status === 404)

    // The peer that went down last has every committed block: restarting it restores the quorum.
    c.start(victim)
    await waitFor(
      async () => {
        try {
          const r = await c.api(left[0]!).get<{ height: number }>(`/v1/tx/${toHex(tx.id)}`)
          return r.height > 0
        } catch {
          return false
        }
      },
      60_000,
      () => `transaction not committed after vp${victim} came back (down: ${down.join(',')})\n${c.logTail(victim, 15)}`,
    )
  })
})
