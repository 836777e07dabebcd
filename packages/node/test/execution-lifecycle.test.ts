import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ResultCode, query, MemoryState } from '../src/execution/index.js'
import { admin, deployTx, hex, makeTx, patient, runBlock } from './execution-fixtures.js'

describe('execution: lifecycle', () => {
  it('an admin deploys; the instance record lands in _sys', async () => {
    const state = new MemoryState()
    const [r] = await runBlock(state, [deployTx('trial', 'mhealth')], 7)
    assert.equal(r!.code, ResultCode.OK, r!.error ?? '')
    assert.deepEqual(r!.ret, { name: 'trial', contract: 'mhealth', deployer: hex(admin), height: 7 })
    assert.ok(r!.writes.some((w) => w.instance === '_sys' && w.key === 'instance/trial'))
    assert.deepEqual(await query('_lifecycle', 'instance', { name: 'trial' }, state), { name: 'trial', contract: 'mhealth', deployer: hex(admin), height: 7 })
  })

  it('refuses a non-admin, a redeploy, reserved or invalid names, unknown types and unwanted init', async () => {
    const state = new MemoryState()
    const results = await runBlock(state, [
      makeTx(patient, '_lifecycle', 'deploy', { name: 'mine', contract: 'kv' }),
      deployTx('dup', 'kv'),
      deployTx('dup', 'mhealth'),
      deployTx('_sys', 'kv'),
      deployTx('has/slash', 'kv'),
      deployTx('x', 'erc20'),
      deployTx('y', 'mhealth', { anything: 1 }),
      makeTx(admin, '_lifecycle', 'undeploy', { name: 'dup' }),
    ])
    assert.deepEqual(
      results.map((r) => r.code),
      [ResultCode.UNAUTHORIZED, ResultCode.OK, ResultCode.CONFLICT, ResultCode.BAD_ARGS, ResultCode.BAD_ARGS, ResultCode.BAD_ARGS, ResultCode.BAD_ARGS, ResultCode.NOT_FOUND],
    )
    assert.deepEqual(await query('_lifecycle', 'instance', { name: 'dup' }, state), { name: 'dup', contract: 'kv', deployer: hex(admin), height: 1 })
  })

  it('invoking or querying an instance that was never deployed is NOT_FOUND', async () => {
    const state = new MemoryState()
    const results = await runBlock(state, [makeTx(patient, 'ghost', 'put', { key: 'a', value: 1 }), makeTx(patient, '_sys', 'put', { key: 'a', value: 1 })])
    assert.deepEqual(results.map((r) => r.code), [ResultCode.NOT_FOUND, ResultCode.NOT_FOUND])
    assert.equal(results[0]!.error, 'no instance "ghost"')
    await assert.rejects(query('ghost', 'get', { key: 'a' }, state), { name: 'QueryError', status: 404 })
  })

  it('lists instances in pages', async () => {
    const state = new MemoryState()
    const names = Array.from({ length: 105 }, (_, i) => `i${String(i).padStart(3, '0')}`)
    await runBlock(state, names.map((n) => deployTx(n, 'kv')))
    type Page = { instances: Array<{ name: string }>; next: string | null }
    const first = (await query('_lifecycle', 'instances', {}, state)) as Page
    assert.equal(first.instances.length, 100)
    assert.equal(first.next, 'i099')
    const second = (await query('_lifecycle', 'instances', { after: first.next }, state)) as Page
    assert.deepEqual(second.instances.map((i) => i.name), names.slice(100))
    assert.equal(second.next, null)
  })
})
