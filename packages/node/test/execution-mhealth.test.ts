import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { decodeCanonical, encode, type Signer } from '@vigil/common'
import { ResultCode, describeContracts, executeBlock, query, type EntryRecord, type MemoryState, type PatientRecord } from '../src/execution/index.js'
import { blockContext, clinician, hex, makeTx, patient, runBlock, stateWith, stranger } from './execution-fixtures.js'

// Test data is synthetic and minimal, as records on a real ledger must be.
const PID = 'P-0001'
const entry = (date: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  date,
  bedTime: '23:15',
  sleepOnsetLatencyMin: 20,
  wakeAfterSleepOnsetMin: 35,
  wakeTime: '06:40',
  riseTime: '07:05',
  sleepQuality: 3,
  ...extra,
})

const call = (from: Signer, method: string, args: Record<string, unknown>) => makeTx(from, 'study', method, args)
const register = (from: Signer = patient, patientId = PID) => call(from, 'registerPatient', { patientId, profile: { studyArm: 'app', yearOfBirth: 1980 } })
const append = (from: Signer, e: Record<string, unknown>, patientId = PID) => call(from, 'appendEntry', { patientId, entry: e })
const grant = (from: Signer, key: Signer) => call(from, 'grantClinician', { patientId: PID, clinicianKey: hex(key) })
const revoke = (from: Signer, key: Signer) => call(from, 'revokeClinician', { patientId: PID, clinicianKey: hex(key) })

async function registered(): Promise<MemoryState> {
  const state = await stateWith({ study: 'mhealth' })
  const [r] = await runBlock(state, [register()], 2)
  assert.equal(r!.code, ResultCode.OK, r!.error ?? '')
  return state
}

const codes = (results: Array<{ code: number }>) => results.map((r) => r.code)

describe('execution: mhealth', () => {
  it('registers a patient once, with a schema-checked pseudonymous profile', async () => {
    const state = await registered()
    const p = (await query('study', 'patient', { patientId: PID }, state)) as PatientRecord & { patientId: string }
    assert.deepEqual(p, { patientId: PID, patientKey: hex(patient), profile: { studyArm: 'app', yearOfBirth: 1980 }, clinicians: [], entryCount: 0, registered: { height: 2, time: blockContext(2).time } })
    const results = await runBlock(
      state,
      [register(stranger), call(patient, 'registerPatient', { patientId: 'P-2', profile: { studyArm: 'app', name: 'Jane Doe' } }), call(patient, 'registerPatient', { patientId: 'Jane Doe', profile: { studyArm: 'app' } })],
      3,
    )
    assert.deepEqual(codes(results), [ResultCode.CONFLICT, ResultCode.SCHEMA, ResultCode.BAD_ARGS])
    await assert.rejects(query('study', 'patient', { patientId: 'P-9' }, state), { status: 404 })
  })

  it('the patient appends; the entry is stored once with author, block time and a versioned payload', async () => {
    const state = await registered()
    const [r] = await runBlock(state, [append(patient, entry('2024-03-01', { notes: 'woke early' }))], 3)
    assert.equal(r!.code, ResultCode.OK, r!.error ?? '')
    assert.equal(r!.ret, 1)
    const write = r!.writes.find((w) => w.key === `entry/${PID}/000000001`)
    assert.ok(write, 'entry written at its sequential key')
    const stored = decodeCanonical(write.value!, 65536, 'entry') as EntryRecord
    assert.deepEqual(stored, { n: 1, date: '2024-03-01', author: hex(patient), height: 3, time: blockContext(3).time, tx: stored.tx, payload: { format: 'plain/v1', data: entry('2024-03-01', { notes: 'woke early' }) } })
    assert.match(stored.tx, /^[0-9a-f]{64}$/)
  })

  it('only the patient and granted clinicians append; only the patient grants and revokes', async () => {
    const state = await registered()
    const before = await runBlock(state, [append(clinician, entry('2024-03-01')), append(stranger, entry('2024-03-01')), grant(stranger, stranger), grant(clinician, clinician)], 3)
    assert.deepEqual(codes(before), Array(4).fill(ResultCode.UNAUTHORIZED))
    for (const r of before) assert.deepEqual(r.writes, [])

    const granted = await runBlock(state, [grant(patient, clinician), grant(patient, clinician), grant(patient, patient), append(clinician, entry('2024-03-02'))], 4)
    assert.deepEqual(codes(granted), [ResultCode.OK, ResultCode.CONFLICT, ResultCode.BAD_ARGS, ResultCode.OK])
    assert.equal(granted[3]!.ret, 1)
    assert.deepEqual(((await query('study', 'patient', { patientId: PID }, state)) as PatientRecord).clinicians, [hex(clinician)])

    const revoked = await runBlock(state, [revoke(clinician, clinician), revoke(patient, clinician), revoke(patient, clinician), append(clinician, entry('2024-03-03')), append(patient, entry('2024-03-03'))], 5)
    assert.deepEqual(codes(revoked), [ResultCode.UNAUTHORIZED, ResultCode.OK, ResultCode.NOT_FOUND, ResultCode.UNAUTHORIZED, ResultCode.OK])
    assert.equal(revoked[4]!.ret, 2)
    const { entries } = (await query('study', 'entries', { patientId: PID }, state)) as { entries: EntryRecord[] }
    assert.deepEqual(entries.map((e) => e.author), [hex(clinician), hex(patient)], 'a revoked clinician’s entries stay')
  })

  it('refuses entries that break the diary schema with SCHEMA', async () => {
    const state = await registered()
    const bad = [
      entry('2023-02-29'), // not a leap year
      entry('2024-3-01'),
      entry('2024-03-01', { bedTime: '24:00' }),
      entry('2024-03-01', { sleepQuality: 6 }),
      entry('2024-03-01', { sleepQuality: 2.5 }),
      entry('2024-03-01', { sleepOnsetLatencyMin: -1 }),
      entry('2024-03-01', { notes: 'x'.repeat(281) }),
      entry('2024-03-01', { mood: 'fine' }),
      { ...entry('2024-03-01'), riseTime: undefined },
    ].map((e) => JSON.parse(JSON.stringify(e)) as Record<string, unknown>)
    const results = await runBlock(state, bad.map((e) => append(patient, e)), 3)
    assert.deepEqual(codes(results), Array(bad.length).fill(ResultCode.SCHEMA))
    assert.match(results[0]!.error!, /^args\.entry\.date: violates format \(date\)$/)
    assert.ok(results.every((r) => r.writes.length === 0))
    const ok = await runBlock(state, [append(patient, entry('2024-02-29'))], 4)
    assert.equal(ok[0]!.code, ResultCode.OK, 'a leap day is a date')
  })

  it('property: any mutation of a valid entry is stored or refused with SCHEMA, never thrown', async () => {
    const state = await registered()
    const fields = Object.keys({ ...entry('2024-03-01'), notes: '' })
    const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.integer({ min: -2, max: 1500 }), fc.constantFrom('00:00', '23:59', '2024-02-29', '2023-02-29', '1999-12-31', '12:60', ''))
    const mutation = fc.oneof(
      fc.record({ op: fc.constant('set' as const), field: fc.oneof(fc.constantFrom(...fields), fc.string({ maxLength: 8 })), value }),
      fc.record({ op: fc.constant('drop' as const), field: fc.constantFrom(...fields) }),
    )
    let height = 3
    const seen = new Set<number>()
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
        const e = new Map<string, unknown>(Object.entries(entry('2024-03-01')))
        for (const m of mutations) {
          if (m.op === 'drop') e.delete(m.field)
          else e.set(m.field, m.value)
        }
        // fromEntries defines own properties, so even a "__proto__" field is plain data.
        const [r] = await executeBlock([append(patient, Object.fromEntries(e))], blockContext(height++), state)
        assert.ok(r!.code === ResultCode.OK || r!.code === ResultCode.SCHEMA, `code ${r!.code}: ${r!.error}`)
        assert.equal(r!.writes.length === 0, r!.code !== ResultCode.OK)
        seen.add(r!.code)
      }),
      { numRuns: 300 },
    )
    assert.deepEqual([...seen].sort(), [ResultCode.OK, ResultCode.SCHEMA], 'mutations both pass and fail')
  })

  it('entries are append-only: no method overwrites or deletes one', async () => {
    const state = await registered()
    const info = describeContracts().find((c) => c.name === 'mhealth')!
    assert.deepEqual(info.methods.map((m) => m.name), ['appendEntry', 'grantClinician', 'registerPatient', 'revokeClinician'])
    const written = new Set<string>()
    for (let h = 3; h < 8; h++) {
      const results = await runBlock(
        state,
        [append(patient, entry('2024-03-01')), grant(patient, clinician), append(clinician, entry('2024-03-02')), register(patient), revoke(patient, clinician), call(patient, 'put', { key: `entry/${PID}/000000001`, value: 1 })],
        h,
      )
      for (const w of results.flatMap((r) => r.writes).filter((w) => w.key.startsWith('entry/'))) {
        assert.ok(!written.has(w.key), `${w.key} written twice`)
        assert.notEqual(w.value, null)
        written.add(w.key)
      }
      assert.equal(results[5]!.code, ResultCode.NOT_FOUND)
    }
    assert.equal(written.size, 10)
  })

  it('answers range queries by diary date, in entry order, with a cursor', async () => {
    const state = await registered()
    const dates = ['2024-03-03', '2024-03-01', '2024-03-02', '2024-03-05', '2024-03-04']
    await runBlock(state, dates.map((d) => append(patient, entry(d))), 3)
    type Page = { entries: EntryRecord[]; next: number | null }
    const page = async (args: Record<string, unknown>): Promise<Page> => (await query('study', 'entries', { patientId: PID, ...args }, state)) as Page
    const all = await page({})
    assert.deepEqual(all.entries.map((e) => e.n), [1, 2, 3, 4, 5])
    assert.equal(all.next, null)
    const ranged = await page({ from: '2024-03-02', to: '2024-03-04' })
    assert.deepEqual(ranged.entries.map((e) => e.date), ['2024-03-03', '2024-03-02', '2024-03-04'])
    const first = await page({ from: '2024-03-02', limit: 2 })
    assert.deepEqual(first.entries.map((e) => e.n), [1, 3])
    assert.equal(first.next, 3)
    const second = await page({ from: '2024-03-02', limit: 2, after: first.next })
    assert.deepEqual(second.entries.map((e) => e.n), [4, 5])
    assert.deepEqual((await page({ to: '2024-02-01' })).entries, [])
    await assert.rejects(page({ from: '2024-03-05', to: '2024-03-01' }), { status: 400, code: 'BAD_ARGS' })
    await assert.rejects(page({ from: '2024-13-01' }), { status: 400 })
    await assert.rejects(query('study', 'entries', { patientId: 'P-9' }, state), { status: 404 })
  })

  it('a range query reads a bounded number of entries, then returns a cursor', async () => {
    const state = await registered()
    const count = 10_500
    const writes = Array.from({ length: count }, (_, i) => ({
      instance: 'study',
      key: `entry/${PID}/${String(i + 1).padStart(9, '0')}`,
      value: encode({ n: i + 1, date: '2020-01-01', author: hex(patient), height: 3, time: 0, tx: '00', payload: { format: 'plain/v1', data: {} } }),
    }))
    const record = (await query('study', 'patient', { patientId: PID }, state)) as PatientRecord & { patientId?: string }
    delete record.patientId
    writes.push({ instance: 'study', key: `patient/${PID}`, value: encode({ ...record, entryCount: count }) })
    state.commit([{ code: 0, error: null, ret: null, writes }])
    type Page = { entries: EntryRecord[]; next: number | null }
    const first = (await query('study', 'entries', { patientId: PID, from: '2024-01-01' }, state)) as Page
    assert.deepEqual(first, { entries: [], next: 10_000 })
    const rest = (await query('study', 'entries', { patientId: PID, from: '2024-01-01', after: first.next }, state)) as Page
    assert.deepEqual(rest, { entries: [], next: null })
  })
})
