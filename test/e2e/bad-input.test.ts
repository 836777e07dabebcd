import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import fc from 'fast-check'
import { encodeTxList, generateKeyPair, toHex } from '@vigil/common'
import { createHost, peerIdFromPublicKey, readGenesisFile } from '@vigil/node'
import { makeTx } from '@vigil/cli'
import pino from 'pino'
import { multiaddr } from '@multiformats/multiaddr'
import { Cluster } from '../src/cluster.js'

/** Issue 4: strangers, garbage bodies and foreign-chain transactions are refused and the peer keeps serving. */
describe('bad input from outside', { timeout: 180_000 }, () => {
  let c: Cluster
  before(async () => {
    c = await Cluster.started()
  })
  after(async () => c?.destroy())

  it('refuses a libp2p peer that is not a validator', async () => {
    const stranger = generateKeyPair()
    const validators = readGenesisFile(c.manifest.genesis).validators
    const me = { index: validators.length, name: 'stranger', publicKey: stranger.publicKey, peerId: peerIdFromPublicKey(stranger.publicKey), addresses: ['/ip4/127.0.0.1/tcp/0'] }
    // The stranger's own gater admits the validators; only theirs can refuse it.
    const host = await createHost({ keyPair: stranger, listen: ['/ip4/127.0.0.1/tcp/0'], validators: [...validators, me], self: me.index, logger: pino({ level: 'silent' }) })
    try {
      await assert.rejects(host.dial(multiaddr(`${c.manifest.nodes[0]!.p2p[0]}`), { signal: AbortSignal.timeout(5000) }))
      assert.equal(host.getConnections().length, 0)
    } finally {
      await host.stop()
    }
    assert.ok((await c.status(0))!.peers.every((p) => p.connected), 'validators lost their links')
  })

  it('answers fuzzed HTTP bodies with 4xx and keeps serving', async () => {
    const url = c.manifest.nodes[1]!.api
    const bodies = fc.oneof(
      fc.uint8Array({ maxLength: 2048 }).map((b) => ({ type: 'application/cbor', body: b as Uint8Array | string })),
      fc.json().map((j) => ({ type: 'application/json', body: j as Uint8Array | string })),
      fc.record({ tx: fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789abcdef') }), fc.string(), fc.integer()) }).map((o) => ({ type: 'application/json', body: JSON.stringify(o) as Uint8Array | string })),
      fc.string().map((s) => ({ type: 'text/plain', body: s as Uint8Array | string })),
    )
    await fc.assert(
      fc.asyncProperty(bodies, fc.constantFrom('/v1/tx', '/v1/tx?wait=commit', '/v1/txs', '/v1/txs?wait=commit', '/v1/query/kv/get', '/v1/tx?wait=maybe'), async ({ type, body }, path) => {
        const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': type }, body })
        assert.ok(res.status >= 400 && res.status < 500, `${path} ${type} answered ${res.status}`)
        const json = (await res.json()) as { error?: { message?: string } }
        assert.equal(typeof json.error?.message, 'string')
      }),
      { numRuns: 300 },
    )
    // The fuzzer's first find: an empty CBOR list of transactions was answered 200.
    const none = await fetch(url + '/v1/txs', { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: Uint8Array.of(0x80) })
    assert.equal(none.status, 400)
    assert.match(((await none.json()) as { error: { message: string } }).error.message, /no transactions/)
    const big = await fetch(url + '/v1/tx', { method: 'POST', headers: { 'content-type': 'application/cbor' }, body: new Uint8Array(2 * 1024 * 1024) })
    assert.equal(big.status, 413)
    assert.ok((await c.status(1)) !== null, 'peer stopped serving')
  })

  it('answers a CBOR batch item by item: the valid transaction commits, the others are refused with their reason', async () => {
    await c.deploy(0, 'batchkv', 'kv')
    const key = generateKeyPair()
    const good = makeTx(c.chainId, key, 'batchkv', 'put', { key: 'k', value: 1 })
    const foreign = makeTx('some-other-chain', key, 'batchkv', 'put', { key: 'k', value: 2 })
    const forged = new Uint8Array(makeTx(c.chainId, key, 'batchkv', 'put', { key: 'k', value: 3 }).bytes)
    forged[forged.length - 1]! ^= 1
    const res = await fetch(c.manifest.nodes[3]!.api + '/v1/txs?wait=commit', {
      method: 'POST', headers: { 'content-type': 'application/cbor' }, body: encodeTxList([good.bytes, foreign.bytes, forged, Uint8Array.of(1, 2, 3)]),
    })
    const answer = await res.text()
    assert.equal(res.status, 200, answer)
    const { results } = JSON.parse(answer) as { results: Array<{ txId?: string; height?: number; error?: { message: string } }> }
    assert.equal(results.length, 4)
    assert.equal(results[0]!.txId, toHex(good.id))
    assert.ok(results[0]!.height! > 0, JSON.stringify(results[0]))
    assert.match(results[1]!.error!.message, /chain "some-other-chain"/)
    assert.match(results[2]!.error!.message, /signature/)
    assert.match(results[3]!.error!.message, /transaction/)
  })

  it('refuses a transaction signed for another chain', async () => {
    const tx = makeTx('some-other-chain', generateKeyPair(), 'kv1', 'put', { key: 'a', value: 1 })
    const res = await fetch(c.manifest.nodes[2]!.api + '/v1/tx', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tx: toHex(tx.bytes) }) })
    assert.equal(res.status, 400)
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /chain "some-other-chain"/)
  })
})
