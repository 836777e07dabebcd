import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { ValidationError, encodeBlock, equalBytes, headerHash } from '@vigil/common'
import { LedgerStore, emptyStateRoot, verifyStateProof } from '../src/index.js'
import { CHAIN_ID, certify, commitBlocks, genesisBlock, nextBlock, tempDir, u8, val } from './helpers.js'

describe('LedgerStore round trips', () => {
  const t = tempDir()
  let store: LedgerStore
  before(async () => {
    store = await LedgerStore.open(t.dir)
  })
  after(async () => {
    await store.close()
    t.cleanup()
  })

  it('starts empty and takes a genesis block once', async () => {
    assert.equal(store.head(), null)
    const g = genesisBlock()
    await store.initGenesis(g)
    await store.initGenesis(g)
    assert.equal(store.head()!.height, 0)
    assert.deepEqual(store.head()!.stateRoot, emptyStateRoot())
    const other = genesisBlock(5)
    await assert.rejects(store.initGenesis(other), ValidationError)
  })

  it('stores a block with its certificate, state, tx index and history', async () => {
    const block = await nextBlock(store, [
      { writes: [{ instance: 'records', key: 'alice', value: val({ bp: 120 }) }] },
      { writes: [], fail: true },
      { writes: [{ instance: 'records', key: 'bob', value: val('x') }, { instance: 'records', key: 'alice', value: val({ bp: 130 }) }] },
    ])
    const cert = certify(block)
    await store.commitBlock(block, cert)
    const h = store.head()!
    assert.equal(h.height, 1)
    assert.deepEqual(h.hash, headerHash(block.header))
    assert.deepEqual(await store.getBlockBytes(1), u8(encodeBlock(block)))
    assert.deepEqual(encodeBlock((await store.getBlock(1))!), encodeBlock(block))
    assert.deepEqual(encodeBlock((await store.getBlockByHash(h.hash))!), encodeBlock(block))
    assert.deepEqual((await store.getHeader(1))!.stateRoot, block.header.stateRoot)
    assert.deepEqual(await store.getCertificate(1), cert)
    assert.equal(await store.getBlock(2), null)
    const tx = (await store.getTx(block.txs[2]!.id))!
    assert.equal(tx.height, 1)
    assert.equal(tx.index, 2)
    assert.deepEqual(u8(tx.tx.bytes), u8(block.txs[2]!.bytes))
    assert.deepEqual(tx.result.writes, block.results[2]!.writes)
    assert.equal(await store.getTx(new Uint8Array(32)), null)
    assert.deepEqual(await store.getState('records', 'alice'), { value: val({ bp: 130 }), version: { height: 1, index: 2 } })
    assert.equal(await store.getState('records', 'carol'), null)
    const hist = await store.history('records', 'alice')
    assert.deepEqual(hist.map((e) => [e.height, e.index, e.value]), [[1, 0, val({ bp: 120 })], [1, 2, val({ bp: 130 })]])
    assert.deepEqual(hist[0]!.txId, u8(block.txs[0]!.id))
  })

  it('deletes, scans and pages history', async () => {
    const block = await nextBlock(store, [
      { writes: [{ instance: 'records', key: 'bob', value: null }] },
      { writes: [{ instance: 'records', key: 'p/1', value: val(1) }, { instance: 'records', key: 'p/2', value: val(2) }, { instance: 'records', key: 'q', value: val(3) }] },
      { writes: [{ instance: 'other', key: 'p/9', value: val(9) }] },
    ])
    await store.commitBlock(block, null)
    assert.equal(await store.getState('records', 'bob'), null)
    assert.equal(await store.getCertificate(2), null)
    const hist = await store.history('records', 'bob')
    assert.deepEqual(hist.map((e) => [e.height, e.value]), [[1, val('x')], [2, null]])
    assert.deepEqual((await store.history('records', 'bob', { afterHeight: 1 })).map((e) => e.height), [2])
    assert.deepEqual((await store.history('records', 'alice', { limit: 1 })).map((e) => e.index), [0])
    assert.deepEqual((await store.scanState('records', { prefix: 'p/', limit: 10 })).map((e) => e.key), ['p/1', 'p/2'])
    assert.deepEqual((await store.scanState('records', { gte: 'p/2', limit: 10 })).map((e) => e.key), ['p/2', 'q'])
    assert.deepEqual((await store.scanState('records', { lt: 'p/2', limit: 10 })).map((e) => e.key), ['alice', 'p/1'])
    assert.deepEqual((await store.scanState('records', { limit: 2 })).map((e) => e.key), ['alice', 'p/1'])
    assert.deepEqual((await store.scanState('other', { limit: 5 })).map((e) => [e.key, e.version]), [['p/9', { height: 2, index: 2 }]])
    await assert.rejects(store.scanState('records', { limit: 0 }), ValidationError)
  })

  it('a late certificate is stored only if it binds to the block', async () => {
    const block = (await store.getBlock(2))!
    const cert = certify(block)
    await assert.rejects(store.putCertificate(2, { ...cert, seq: 3 }), /certificate.seq/)
    await assert.rejects(store.putCertificate(2, { ...cert, digest: new Uint8Array(32) }), /certificate.digest/)
    await assert.rejects(store.putCertificate(9, cert), ValidationError)
    await store.putCertificate(2, cert)
    assert.deepEqual(await store.getCertificate(2), cert)
  })

  it('reads ranges of blocks with their certificates, within a byte budget', async () => {
    const bytes = [(await store.getBlockBytes(1))!, (await store.getBlockBytes(2))!]
    const all = await store.getBlockRange(1, 64, 1 << 20)
    assert.deepEqual(all.map((e) => u8(e.block)), bytes.map(u8))
    assert.deepEqual(all.map((e) => e.cert), [await store.getCertificate(1), await store.getCertificate(2)])
    assert.equal((await store.getBlockRange(1, 1, 1 << 20)).length, 1)
    // Past the budget only when the first block alone is larger.
    assert.equal((await store.getBlockRange(1, 64, 1)).length, 1)
    assert.equal((await store.getBlockRange(1, 64, bytes[0]!.byteLength + bytes[1]!.byteLength - 1)).length, 1)
    assert.equal((await store.getBlockRange(1, 64, bytes[0]!.byteLength + bytes[1]!.byteLength)).length, 2)
    assert.deepEqual((await store.getBlockRange(0, 1, 1 << 20)).map((e) => e.cert), [null])
    assert.deepEqual(await store.getBlockRange(3, 64, 1 << 20), [])
    assert.deepEqual(await store.getBlockRange(-1, 64, 1 << 20), [])
  })

  it('proves present and absent keys against the head root', async () => {
    const root = store.head()!.stateRoot
    const p = await store.getProof('records', 'alice')
    assert.deepEqual(p.value, val({ bp: 130 }))
    assert.deepEqual(p.stateRoot, root)
    assert.ok(verifyStateProof(root, 'records', 'alice', p.value, p.proof))
    const a = await store.getProof('records', 'bob')
    assert.equal(a.value, null)
    assert.ok(verifyStateProof(root, 'records', 'bob', null, a.proof))
  })

  it('keeps consensus records', async () => {
    await store.writeConsensus([{ key: 'view', value: Uint8Array.of(1) }, { key: 'log/2', value: Uint8Array.of(2) }, { key: 'log/1', value: Uint8Array.of(3) }])
    await store.writeConsensus([{ key: 'log/2', value: null }], { sync: false })
    assert.deepEqual(await store.readConsensus(), [{ key: 'log/1', value: Uint8Array.of(3) }, { key: 'view', value: Uint8Array.of(1) }])
  })

  it('survives a reopen with the same head, state and root', async () => {
    const head = store.head()!
    await store.close()
    store = await LedgerStore.open(t.dir)
    assert.deepEqual(store.head(), head)
    assert.equal(store.damage(), null)
    assert.deepEqual((await store.getProof('records', 'q')).stateRoot, head.stateRoot)
    assert.deepEqual(await store.verifyStore(), { ok: true, height: 2 })
    assert.equal((await store.readConsensus()).length, 2)
    assert.equal(store.head()!.height, 2)
    assert.ok(equalBytes((await store.getBlock(0))!.header.batchDigest, genesisBlock().header.batchDigest))
    assert.equal((await store.getBlock(0))!.header.chainId, CHAIN_ID)
  })
})

describe('replayOnly stores (the audit\'s throwaway copy)', () => {
  it('apply blocks to the same state as a full store, keeping only world state and tx index, in memory', async () => {
    const a = tempDir()
    const b = tempDir()
    const full = await LedgerStore.open(a.dir)
    const replay = await LedgerStore.open(b.dir, { replayOnly: true })
    try {
      await full.initGenesis(genesisBlock())
      await replay.initGenesis(genesisBlock())
      const blocks = await commitBlocks(full, 5, 20, 30)
      for (const block of blocks) await replay.commitBlock(block, certify(block))
      assert.deepEqual(replay.head(), full.head())
      // The last block's last write of a value (random blocks also delete keys): the state at the tip holds it.
      const key = blocks[4]!.results.flatMap((r) => r.writes).findLast((w) => w.value !== null)!
      const keys = [key, { instance: key.instance, key: 'never-written' }]
      assert.deepEqual(await replay.getStateManyAtTip(keys), await full.getStateManyAtTip(keys))
      assert.notEqual((await replay.getStateManyAtTip(keys))[0], null)
      const ids = [blocks[2]!.txs[3]!.id, blocks[4]!.txs[0]!.id]
      assert.deepEqual(await replay.txLocationsAtTip(ids), await full.txLocationsAtTip(ids))
      assert.equal(await replay.getBlockBytes(3), null)
      assert.equal(await replay.getCertificate(3), null)
      assert.deepEqual(await replay.history(key.instance, key.key), [])
      assert.ok((await full.history(key.instance, key.key)).length > 0)
    } finally {
      await full.close()
      await replay.close()
      a.cleanup()
      b.cleanup()
    }
  })
})
