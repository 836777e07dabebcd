import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { ValidationError, encodeBlock } from '@vigil/common'
import { LedgerStore, MAX_GROUP_BLOCKS, verifyStateProof } from '../src/index.js'
import { sourceAndTarget, tempDir, u8, type ChainEntry } from './helpers.js'

type Entry = ChainEntry

/** commitBlocks: a source store builds a chain block by block; the target takes it in groups, as block sync does. */
describe('commitBlocks (group commit)', () => {
  const t = tempDir()
  let source: LedgerStore
  let store: LedgerStore
  let chain: Entry[]
  before(async () => {
    ;({ source, store, chain } = await sourceAndTarget(t.dir, 12, 8, 10))
  })
  after(async () => {
    await source.close()
    await store.close()
    t.cleanup()
  })

  const range = (from: number, to: number): Entry[] => chain.slice(from - 1, to)

  /** Whatever was refused, nothing of it may be in the store. */
  async function assertUntouched(height: number): Promise<void> {
    assert.equal(store.head()!.height, height)
    assert.equal(await store.getBlock(height + 1), null)
    assert.equal(await store.getCertificate(height + 1), null)
    assert.deepEqual(await store.txLocations(chain[height]!.block.txs.map((tx) => tx.id)), chain[height]!.block.txs.map(() => null))
    assert.deepEqual(await store.verifyStore(), { ok: true, height })
  }

  it('writes several blocks in one call, the same store as one by one', async () => {
    await store.commitBlocks(range(1, 4))
    assert.equal(store.head()!.height, 4)
    for (let h = 1; h <= 4; h++) {
      assert.deepEqual(await store.getBlockBytes(h), u8(encodeBlock(chain[h - 1]!.block)))
      assert.deepEqual(await store.getCertificate(h), chain[h - 1]!.cert)
    }
    assert.deepEqual(store.head()!.stateRoot, chain[3]!.block.header.stateRoot)
    assert.deepEqual(await store.verifyStore(), { ok: true, height: 4 })
    const tx = chain[1]!.block.txs[3]!
    assert.deepEqual((await store.getTx(tx.id))!.height, 2)
    const hist = await store.history('records', 'k1')
    assert.deepEqual(hist, (await source.history('records', 'k1')).filter((e) => e.height <= 4))
  })

  it('refuses a group that does not start at head + 1 or skips a block, writing nothing', async () => {
    await assert.rejects(store.commitBlocks(range(6, 7)), /block.header.height: is 6, expected 5/)
    await assert.rejects(store.commitBlocks([chain[4]!, chain[6]!]), /block.header.height: is 7, expected 6/)
    await assert.rejects(store.commitBlocks([chain[4]!, chain[4]!]), /block.header.height: is 5, expected 6/)
    await assertUntouched(4)
  })

  it('refuses a group with a bad block anywhere in it, writing nothing', async () => {
    const [a, b, c] = range(5, 7) as [Entry, Entry, Entry]
    const badRoot: Entry = { ...c, block: { ...c.block, header: { ...c.block.header, stateRoot: a.block.header.stateRoot } } }
    await assert.rejects(store.commitBlocks([a, b, badRoot]), /block.header.stateRoot/)
    const badCert: Entry = { ...b, cert: { ...b.cert!, seq: 99 } }
    await assert.rejects(store.commitBlocks([a, badCert, c]), /certificate.seq/)
    const badLink: Entry = { ...b, block: { ...b.block, header: { ...b.block.header, prevHash: new Uint8Array(32) } } }
    await assert.rejects(store.commitBlocks([a, badLink, c]), /block.header.prevHash/)
    const badBody: Entry = { ...c, block: { ...c.block, results: c.block.results.slice(1) } }
    await assert.rejects(store.commitBlocks([a, b, badBody]), ValidationError)
    await assertUntouched(4)
    // The refused groups left the state tree as it was: the same blocks go in afterwards.
    await store.commitBlocks([a, b, c])
    assert.deepEqual(await store.verifyStore(), { ok: true, height: 7 })
  })

  it('takes a preview made for its first block, and an empty group is a no-op', async () => {
    const next = chain[7]!.block
    assert.deepEqual(await store.previewStateRoot(next.results), next.header.stateRoot)
    await store.commitBlocks([])
    assert.equal(store.head()!.height, 7)
    await store.commitBlocks(range(8, 12))
    assert.deepEqual(store.head(), source.head())
    const p = await store.getProof('records', 'k3')
    assert.ok(verifyStateProof(store.head()!.stateRoot, 'records', 'k3', p.value, p.proof))
    assert.deepEqual(await store.verifyStore(), { ok: true, height: 12 })
  })

  it('refuses a group over MAX_GROUP_BLOCKS before looking at it', async () => {
    await assert.rejects(store.commitBlocks(Array.from({ length: MAX_GROUP_BLOCKS + 1 }, () => chain[0]!)), /limit/)
  })

  it('reopens with the group-committed state', async () => {
    const root = store.head()!.stateRoot
    await store.close()
    store = await LedgerStore.open(join(t.dir, 'target'))
    assert.equal(store.damage(), null)
    assert.deepEqual(store.head()!.stateRoot, root)
  })
})
