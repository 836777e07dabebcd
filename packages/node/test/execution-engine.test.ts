import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { encodeResult, signTx, type Tx } from '@vigil/common'
import { MemoryState, ResultCode, executeBlock, query, type StateReader } from '../src/execution/index.js'
import { blockContext, clinician, deployTx, hex, makeTx, patient, runBlock, stateWith, stranger } from './execution-fixtures.js'

const put = (key: string, nonce?: string): Tx => makeTx(patient, 'store', 'put', { key, value: key }, nonce)

describe('execution: engine', () => {
  it('refuses a replayed nonce, within a block and across blocks', async () => {
    const state = await stateWith({ store: 'kv' })
    const first = await runBlock(state, [put('a', 'same'), put('b', 'same'), makeTx(clinician, 'store', 'put', { key: 'c', value: 1 }, 'same')], 2)
    assert.deepEqual(first.map((r) => r.code), [ResultCode.OK, ResultCode.CONFLICT, ResultCode.OK], 'nonces are per signer')
    assert.equal(first[1]!.error, 'nonce "same" was already used by this signer')
    assert.ok(first[0]!.writes.some((w) => w.instance === '_sys' && w.key === `nonce/${hex(patient)}/same`))
    const again = await runBlock(state, [put('a', 'same')], 3)
    assert.equal(again[0]!.code, ResultCode.CONFLICT)
    assert.deepEqual(again[0]!.writes, [])
  })

  it('a failed transaction does not use up its nonce', async () => {
    const state = await stateWith({ store: 'kv' })
    const [failed] = await runBlock(state, [makeTx(patient, 'store', 'add', { key: 'n', delta: 0.5 }, 'retry')], 2)
    assert.equal(failed!.code, ResultCode.BAD_ARGS)
    const [ok] = await runBlock(state, [makeTx(patient, 'store', 'add', { key: 'n', delta: 1 }, 'retry')], 3)
    assert.equal(ok!.code, ResultCode.OK)
  })

  it('refuses a forged signature or another chain with UNAUTHORIZED', async () => {
    const state = await stateWith({ store: 'kv' })
    const good = put('a')
    const forged: Tx = { ...good, sig: new Uint8Array(64) }
    const otherChain = signTx({ chainId: 'elsewhere', signer: patient.publicKey, instance: 'store', method: 'put', args: { key: 'b', value: 1 }, nonce: 'x' }, patient)
    const results = await runBlock(state, [forged, otherChain], 2)
    assert.deepEqual(results.map((r) => r.code), [ResultCode.UNAUTHORIZED, ResultCode.UNAUTHORIZED])
    assert.equal(await query('store', 'get', { key: 'a' }, state), null)
  })

  it('is deterministic: the same block on two fresh states gives byte-identical results', async () => {
    const txs = [
      deployTx('store', 'kv', { values: { z: 1, a: [1, 2] } }),
      deployTx('study', 'mhealth'),
      makeTx(patient, 'store', 'put', { key: 'm', value: { y: 1, x: [true, null, 'é'] } }),
      makeTx(patient, 'store', 'add', { key: 'z', delta: 41 }),
      makeTx(patient, 'store', 'add', { key: 'a', delta: 1 }),
      makeTx(patient, 'study', 'registerPatient', { patientId: 'P-7', profile: { studyArm: 'control' } }),
      makeTx(patient, 'study', 'grantClinician', { patientId: 'P-7', clinicianKey: hex(clinician) }),
      makeTx(clinician, 'study', 'appendEntry', { patientId: 'P-7', entry: { date: '2024-01-02', bedTime: '22:30', sleepOnsetLatencyMin: 45, wakeAfterSleepOnsetMin: 60, wakeTime: '05:50', riseTime: '06:30', sleepQuality: 2 } }),
      makeTx(stranger, 'study', 'appendEntry', { patientId: 'P-7', entry: { date: '2024-01-02' } }),
      makeTx(patient, 'store', 'put', { key: 'm', value: 'last write wins' }),
    ]
    const [a, b] = [await executeBlock(txs, blockContext(1), new MemoryState()), await executeBlock(txs, blockContext(1), new MemoryState())]
    assert.equal(Buffer.concat(a.map(encodeResult)).toString('hex'), Buffer.concat(b.map(encodeResult)).toString('hex'))
    assert.deepEqual(a.map((r) => r.code), [0, 0, 0, 0, ResultCode.ARITHMETIC, 0, 0, 0, ResultCode.SCHEMA, 0])
  })

  it('writes of one transaction are sorted, one per key, last value wins', async () => {
    const state = await stateWith({})
    const [r] = await runBlock(state, [deployTx('cfg', 'kv', { values: { b: 1, a: 2, c: 3 } })])
    const keys = r!.writes.map((w) => `${w.instance}\u0000${w.key}`)
    assert.deepEqual(keys, [...keys].sort())
    assert.equal(new Set(keys).size, keys.length)
  })

  it('reads each key from storage at most once per block', async () => {
    const base = await stateWith({ store: 'kv' })
    const reads = new Map<string, number>()
    const counting: StateReader = {
      get: async (instance, key) => {
        reads.set(`${instance}/${key}`, (reads.get(`${instance}/${key}`) ?? 0) + 1)
        return base.get(instance, key)
      },
      scan: (instance, opts) => base.scan(instance, opts),
    }
    const txs = Array.from({ length: 5 }, () => makeTx(patient, 'store', 'add', { key: 'n', delta: 1 }))
    const results = await executeBlock(txs, blockContext(2), counting)
    assert.deepEqual(results.map((r) => r.ret), [1, 2, 3, 4, 5])
    assert.equal(reads.get('store/n'), 1)
    assert.equal(reads.get('_sys/instance/store'), 1)
  })

  it('a storage failure rejects the block instead of becoming a result', async () => {
    const failing: StateReader = {
      get: async () => {
        throw new Error('disk on fire')
      },
      scan: async () => [],
    }
    await assert.rejects(executeBlock([put('a')], blockContext(2), failing), /disk on fire/)
  })

  it('keeps error strings within the 1024 characters results may carry', async () => {
    const state = await stateWith({ store: 'kv' })
    const long = '😀'.repeat(600)
    const [r] = await runBlock(state, [makeTx(patient, 'store', 'put', { key: 'k', value: 1, [long]: 1 })], 2)
    assert.equal(r!.code, ResultCode.BAD_ARGS)
    assert.ok(r!.error!.length <= 1024)
    assert.ok(!/[\uD800-\uDBFF]…$/.test(r!.error!), 'no lone surrogate')
  })
})
