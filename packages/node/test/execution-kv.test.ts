import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MAX_KEY_LENGTH, decodeCanonical } from '@vigil/common'
import { ResultCode, query } from '../src/execution/index.js'
import { deployTx, hex, makeTx, patient, runBlock, stateWith } from './execution-fixtures.js'

const kv = (method: string, args: Record<string, unknown>) => makeTx(patient, 'store', method, args)

describe('execution: kv', () => {
  it('puts, gets and deletes any JSON value', async () => {
    const state = await stateWith({ store: 'kv' })
    const value = { a: [1, 'two', null, true], b: { c: 1.5 } }
    const [put] = await runBlock(state, [kv('put', { key: 'k', value })], 2)
    assert.equal(put!.code, ResultCode.OK)
    assert.deepEqual(put!.writes.map((w) => w.instance), ['_sys', 'store'], 'sorted: the nonce, then the value')
    assert.match(put!.writes[0]!.key, new RegExp(`^nonce/${hex(patient)}/n\\d+$`))
    assert.deepEqual(decodeCanonical(put!.writes[1]!.value!, 1024, 'value'), value)
    assert.deepEqual(await query('store', 'get', { key: 'k' }, state), value)

    const [del, again] = await runBlock(state, [kv('delete', { key: 'k' }), kv('delete', { key: 'k' })], 3)
    assert.equal(del!.ret, true)
    assert.equal(del!.writes.find((w) => w.instance === 'store')!.value, null)
    assert.equal(again!.ret, false, 'a second delete finds nothing')
    assert.equal(await query('store', 'get', { key: 'k' }, state), null)
  })

  it('adds integers, treating an absent key as 0', async () => {
    const state = await stateWith({ store: 'kv' })
    const results = await runBlock(state, [kv('add', { key: 'c', delta: 5 }), kv('add', { key: 'c', delta: -7 })], 2)
    assert.deepEqual(results.map((r) => r.ret), [5, -2])
    assert.equal(await query('store', 'get', { key: 'c' }, state), -2)
  })

  it('add fails with ARITHMETIC and no writes on a non-integer value or overflow', async () => {
    const state = await stateWith({ store: 'kv' })
    await runBlock(state, [kv('put', { key: 's', value: 'ten' }), kv('put', { key: 'f', value: 1.5 }), kv('put', { key: 'max', value: Number.MAX_SAFE_INTEGER })], 2)
    const results = await runBlock(state, [kv('add', { key: 's', delta: 1 }), kv('add', { key: 'f', delta: 1 }), kv('add', { key: 'max', delta: 1 })], 3)
    for (const r of results) {
      assert.equal(r.code, ResultCode.ARITHMETIC, r.error ?? '')
      assert.deepEqual(r.writes, [])
      assert.equal(r.ret, null)
    }
    assert.equal(await query('store', 'get', { key: 'max' }, state), Number.MAX_SAFE_INTEGER)
  })

  it('refuses a non-integer or unsafe delta, missing and extra arguments with BAD_ARGS', async () => {
    const state = await stateWith({ store: 'kv' })
    const results = await runBlock(
      state,
      [kv('add', { key: 'c', delta: 0.5 }), kv('add', { key: 'c', delta: 2 ** 53 }), kv('put', { key: 'c' }), kv('put', { key: 'c', value: 1, extra: 1 }), kv('put', { key: '', value: 1 })],
      2,
    )
    assert.deepEqual(results.map((r) => r.code), Array(5).fill(ResultCode.BAD_ARGS))
    assert.match(results[2]!.error!, /required \(value\)/)
    assert.match(results[3]!.error!, /additionalProperties \(extra\)/)
  })

  it('refuses a key over MAX_KEY_LENGTH UTF-16 units even within the code-point limit', async () => {
    const state = await stateWith({ store: 'kv' })
    const [r] = await runBlock(state, [kv('put', { key: '😀'.repeat(MAX_KEY_LENGTH / 2 + 1), value: 1 })], 2)
    assert.equal(r!.code, ResultCode.BAD_ARGS)
    assert.match(r!.error!, /longer than/)
  })

  it('a later transaction sees an earlier one in the same block; a failure in between stops nothing', async () => {
    const state = await stateWith({ store: 'kv' })
    const results = await runBlock(state, [kv('put', { key: 'a', value: 40 }), kv('add', { key: 'b', delta: 'x' }), kv('add', { key: 'a', delta: 2 }), kv('nope', {})], 2)
    assert.deepEqual(results.map((r) => r.code), [ResultCode.OK, ResultCode.BAD_ARGS, ResultCode.OK, ResultCode.NOT_FOUND])
    assert.equal(results[2]!.ret, 42)
    assert.deepEqual(results[1]!.writes, [])
    assert.equal(await query('store', 'get', { key: 'a' }, state), 42)
  })

  it('initialises values at deploy', async () => {
    const state = await stateWith({})
    const [ok, bad] = await runBlock(state, [deployTx('cfg', 'kv', { values: { b: 2, a: 1 } }), deployTx('cfg2', 'kv', { values: { b: 2 }, more: 1 })])
    assert.equal(ok!.code, ResultCode.OK)
    assert.deepEqual(ok!.writes.map((w) => `${w.instance}/${w.key}`).filter((k) => k.startsWith('cfg/')), ['cfg/a', 'cfg/b'], 'writes are sorted')
    assert.equal(bad!.code, ResultCode.SCHEMA)
    assert.equal(await query('cfg', 'get', { key: 'a' }, state), 1)
  })

  it('queries refuse bad arguments and unknown queries', async () => {
    const state = await stateWith({ store: 'kv' })
    await assert.rejects(query('store', 'get', {}, state), { name: 'QueryError', status: 400, code: 'BAD_ARGS' })
    await assert.rejects(query('store', 'put', { key: 'a', value: 1 }, state), { name: 'QueryError', status: 404 })
    await assert.rejects(query('nowhere', 'get', { key: 'a' }, state), { name: 'QueryError', status: 404 })
  })
})
