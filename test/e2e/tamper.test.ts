import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { Cluster, waitFor } from '../src/cluster.js'
import { clients, diaryEntry } from '../src/load.js'
import { alterStateValue, vigil } from '../src/tamper.js'

/** Issue 6: tamper evidence a third party can check, and a peer that repairs its own altered store. */
describe('tamper evidence and self-repair', { timeout: 600_000 }, () => {
  let c: Cluster | undefined
  after(async () => c?.destroy())

  it('proof bundles check offline; an altered entry in VP2 is found by verify, VP2 repairs itself from its peers', async () => {
    c = await Cluster.started()
    const cl = c
    const [patient] = clients(1)
    await cl.deploy(0, 'sleep', 'mhealth')
    const reg = await cl.submit(0, patient!, 'sleep', 'registerPatient', { patientId: 'P-17', profile: { studyArm: 'cbt-i' } })
    assert.equal(reg.result.ok, true, reg.result.error ?? '')
    const appended = []
    for (let day = 0; day < 6; day++) appended.push(await cl.submit(day % 4, patient!, 'sleep', 'appendEntry', { patientId: 'P-17', entry: diaryEntry(day) }))
    assert.ok(appended.every((r) => r.result.ok))
    const api = (i: number) => cl.manifest.nodes[i]!.api
    const genesis = cl.manifest.genesis

    // A proof bundle, verified offline by a separate process with nothing but genesis.json.
    const bundle = join(cl.dir, 'entry-2.json')
    const prove = await vigil(['prove', '--node', api(1), '--name', 'sleep', '--key', 'entry/P-17/000000002', '--out', bundle])
    assert.equal(prove.code, 0, prove.stderr)
    const check = await vigil(['check-proof', bundle, '--genesis', genesis])
    assert.equal(check.code, 0, check.stderr)
    assert.match(check.stdout, new RegExp(`patient P-17 entry ${diaryEntry(1).date} \\(#2\\) is committed in block ${appended[1]!.height} .*signed by vp\\d, vp\\d, vp\\d`))
    const text = readFileSync(bundle, 'utf8')
    const forged = join(cl.dir, 'forged.json')
    writeFileSync(forged, text.replace(/"sleepQuality": (\d)/, (_m, q: string) => `"sleepQuality": ${(Number(q) % 5) + 1}`))
    const rejected = await vigil(['check-proof', forged, '--genesis', genesis])
    assert.equal(rejected.code, 2, rejected.stdout)
    assert.match(rejected.stderr, /proof REJECTED: bundle\.value: does not match valueCbor/)
    const viaQuery = await vigil(['query', '--node', api(3), '--name', 'sleep', '--key', 'patient/P-17', '--proof', '--out', join(cl.dir, 'patient.json'), '--genesis', genesis])
    assert.equal(viaQuery.code, 0, viaQuery.stderr)
    assert.match(viaQuery.stderr, /sleep\/patient\/P-17 = .* is committed in block \d+/)

    // History: the patient record's versions and the diary in entry order.
    const hist = await vigil(['history', '--node', api(0), '--name', 'sleep', '--key', 'patient/P-17', '--json'])
    assert.equal(hist.code, 0, hist.stderr)
    const versions = JSON.parse(hist.stdout) as Array<{ height: number; txId: string; signer: string }>
    assert.deepEqual(versions.map((v) => v.txId), [reg, ...appended].map((r) => r.txId))
    const diary = await vigil(['history', '--node', api(2), '--name', 'sleep', '--patient', 'P-17', '--json'])
    assert.deepEqual((JSON.parse(diary.stdout) as Array<{ date: string }>).map((e) => e.date), [0, 1, 2, 3, 4, 5].map((d) => diaryEntry(d).date))

    // VP2 stops; an attacker with disk access rewrites entry 3's sleep quality.
    await cl.waitHeight((await cl.status(0))!.height, [2])
    assert.equal((await cl.stop(2, 'SIGTERM')), 0)
    const written = await alterStateValue(join(cl.home(2), 'data'), 'sleep', 'entry/P-17/000000003', (v) => {
      ;((v.payload as { data: Record<string, unknown> }).data).sleepQuality = 5
    })
    assert.equal(written, appended[2]!.height)
    const damaged = await vigil(['verify', '--home', cl.home(2)])
    assert.equal(damaged.code, 2, damaged.stdout + damaged.stderr)
    assert.match(damaged.stdout, new RegExp(`DAMAGED: block ${written}: key sleep/entry/P-17/000000003: `))

    // The others keep committing while VP2 is down and while it repairs.
    const more = []
    for (let day = 6; day < 10; day++) more.push(await cl.submit(day % 2, patient!, 'sleep', 'appendEntry', { patientId: 'P-17', entry: diaryEntry(day) }))
    cl.start(2)
    const during = (async () => {
      for (let day = 10; day < 16; day++) more.push(await cl.submit(3, patient!, 'sleep', 'appendEntry', { patientId: 'P-17', entry: diaryEntry(day) }))
    })()
    await waitFor(async () => readFileSync(cl.logFile(2), 'utf8').includes('store repaired'), 60_000, () => `VP2 did not repair:\n${cl.logTail(2)}`)
    await during
    assert.ok(more.every((r) => r.result.ok))
    const log = readFileSync(cl.logFile(2), 'utf8')
    assert.match(log, /store damaged: .*sleep\/entry\/P-17\/000000003/)
    assert.match(log, /block sync finished/)
    await cl.waitReady([2])

    // Afterwards VP2 agrees with the others on blocks, state root and answers.
    const top = Math.max(...more.map((r) => r.height))
    await cl.waitHeight(top + 1, [0, 1, 2, 3])
    await waitFor(async () => new Set((await Promise.all([0, 1, 2, 3].map((i) => cl.status(i)))).map((s) => `${s?.height}/${s?.stateRoot}`)).size === 1, 20_000, () => 'peers did not settle on one head')
    const entry3 = await Promise.all([0, 2].map((i) => cl.api(i).get<{ value: { payload: { data: { sleepQuality: number } } } }>('/v1/state/sleep/entry%2FP-17%2F000000003')))
    assert.deepEqual(entry3[1], entry3[0])
    assert.equal(entry3[1]!.value.payload.data.sleepQuality, diaryEntry(2).sleepQuality)
    const answers = await Promise.all([0, 2].map((i) => cl.api(i).post('/v1/query/sleep/entries', { patientId: 'P-17' })))
    assert.deepEqual(answers[1], answers[0])

    // Same block hashes at every height (verify --nodes), a clean online audit, and VP2's stopped store verifies.
    const online = await vigil(['verify', '--node', api(2), '--genesis', genesis])
    assert.equal(online.code, 0, online.stdout + online.stderr)
    const compare = await vigil(['verify', '--nodes', [0, 1, 2, 3].map(api).join(',')])
    assert.equal(compare.code, 0, compare.stdout + compare.stderr)
    await cl.stop(2, 'SIGTERM')
    const repaired = await vigil(['verify', '--home', cl.home(2)])
    assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr)
    assert.match(repaired.stdout, /ledger intact/)
  })
})
