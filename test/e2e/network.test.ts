import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Cluster, waitFor } from '../src/cluster.js'
import { clients, diaryEntry, kvLoad } from '../src/load.js'
import { vigil } from '../src/tamper.js'

/** Issue 4: four real daemon processes on loopback agree on every block, state root and query answer. */
describe('a 4-peer network of real processes', { timeout: 180_000 }, () => {
  let c: Cluster
  before(async () => {
    c = await Cluster.started()
  })
  after(async () => c?.destroy())

  it('deploys, commits 100 transactions from several clients through different peers, and all peers agree', async () => {
    await c.deploy(0, 'kv1', 'kv')
    await c.deploy(1, 'study', 'mhealth')
    const keys = clients(5)
    const patient = keys[0]!
    const reg = await c.submit(2, patient, 'study', 'registerPatient', { patientId: 'P-1', profile: { studyArm: 'cbt-i', yearOfBirth: 1975 } })
    assert.equal(reg.result.ok, true, String(reg.result.error))

    const [puts, entries, adds] = await Promise.all([
      kvLoad(c, keys, 'kv1', 70, 'k'),
      Promise.all(Array.from({ length: 10 }, (_, d) => c.submit(d % 4, patient, 'study', 'appendEntry', { patientId: 'P-1', entry: diaryEntry(d) }))),
      Promise.all(Array.from({ length: 20 }, (_, i) => c.submit((i + 1) % 4, keys[i % 5]!, 'kv1', 'add', { key: 'counter', delta: 1 }))),
    ])
    for (const r of [...puts, ...entries, ...adds]) assert.equal(r.result.ok, true, `${r.txId}: ${r.result.error}`)

    const top = Math.max(...[...puts, ...entries, ...adds].map((r) => r.height))
    await c.waitHeight(top)
    // Same block hash at every height, same state root at the head, on all four peers.
    const statuses = await Promise.all([0, 1, 2, 3].map((i) => c.status(i)))
    const h = Math.min(...statuses.map((s) => s!.height))
    for (let from = 0; from <= h; from += 100) {
      const pages = await Promise.all([0, 1, 2, 3].map((i) => c.api(i).get<{ blocks: Array<{ header: { height: number; hash: string; stateRoot: string } }> }>(`/v1/blocks?from=${from}&limit=100`)))
      const upto = Math.min(h - from + 1, 100)
      for (let k = 0; k < upto; k++) {
        const hashes = new Set(pages.map((p) => p.blocks[k]!.header.hash))
        assert.equal(hashes.size, 1, `peers disagree on block ${from + k}`)
      }
    }
    await waitFor(async () => new Set((await Promise.all([0, 1, 2, 3].map((i) => c.status(i)))).map((s) => `${s!.height}:${s!.stateRoot}`)).size === 1, 20_000, () => 'state roots differ')

    // Every peer answers queries with the committed values.
    for (let i = 0; i < 4; i++) {
      const api = c.api(i)
      const counter = await api.post<{ value: unknown }>('/v1/query/kv1/get', { key: 'counter' })
      assert.equal(counter.value, 20)
      const k5 = await api.get<{ value: unknown; version: { height: number } }>('/v1/state/kv1/k5')
      assert.deepEqual(k5.value, { i: 5, by: 0 })
      const es = await api.post<{ value: { entries: unknown[] } }>('/v1/query/study/entries', { patientId: 'P-1' })
      assert.equal(es.value.entries.length, 10)
    }
  })

  it('vigil bench --workload mixed deploys its instances and commits kv puts and diary entries, each client its own patient', async () => {
    const nodes = c.manifest.nodes.map((n) => n.api).join(',')
    const from = (await c.status(1))!.height + 1
    const run = await vigil(['bench', '--nodes', nodes, '--rate', '40', '--duration', '2', '--workload', 'mixed', '--instance', 'load-kv', '--diary-instance', 'load-sleep', '--key', c.manifest.adminKey, '--json'])
    assert.equal(run.code, 0, run.stderr)
    const r = JSON.parse(run.stdout) as { sent: number; committed: number; failed: number }
    assert.deepEqual([r.sent, r.committed, r.failed], [80, 80, 0])
    // On another peer's ledger: the two deploys, 16 patients registered (one per client key), then
    // 40 kv puts and 40 diary entries, every one committed with an ok result.
    const to = (await c.status(0))!.height
    await c.waitHeight(to)
    type Page = { blocks: Array<{ txs: Array<{ instance: string; method: string; args: { patientId?: string }; result: { ok: boolean } }> }> }
    const txs: Page['blocks'][number]['txs'] = []
    for (let h = from; h <= to; h += 100) txs.push(...(await c.api(1).get<Page>(`/v1/blocks?from=${h}&limit=${Math.min(100, to - h + 1)}`)).blocks.flatMap((b) => b.txs))
    assert.ok(txs.every((t) => t.result.ok))
    const count = (instance: string, method: string) => txs.filter((t) => t.instance === instance && t.method === method).length
    assert.deepEqual([count('_lifecycle', 'deploy'), count('load-sleep', 'registerPatient'), count('load-kv', 'put'), count('load-sleep', 'appendEntry')], [2, 16, 40, 40])
    assert.equal(new Set(txs.filter((t) => t.method === 'appendEntry').map((t) => t.args.patientId)).size, 16)
  })

  it('answers bad requests with 4xx and a reason', async () => {
    const api = c.api(0)
    await assert.rejects(api.post('/v1/tx', { tx: 'zz' }), (e: { status: number }) => e.status === 400)
    await assert.rejects(api.post('/v1/query/nope/get', { key: 'a' }), (e: { status: number }) => e.status === 404)
    await assert.rejects(api.get('/v1/blocks/99999999'), (e: { status: number }) => e.status === 404)
    await assert.rejects(api.get('/v1/tx/abc'), (e: { status: number }) => e.status === 400)
  })
})
