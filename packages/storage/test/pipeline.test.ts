import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { LedgerStore } from '../src/index.js'
import { sourceAndTarget, tempDir, withBatchWrite, type ChainEntry } from './helpers.js'

type Entry = ChainEntry

/**
 * Pipelined commits: block h+1 previewed and committed while block h's batch is being written.
 * The chain is built block by block in a source store, then fed to the target without waiting.
 */
describe('pipelined commits', () => {
  const t = tempDir()
  let source: LedgerStore
  let store: LedgerStore
  let chain: Entry[]
  before(async () => {
    ;({ source, store, chain } = await sourceAndTarget(t.dir, 16, 8, 10))
  })
  after(async () => {
    await source.close()
    await store.close()
    t.cleanup()
  })

  it('accepts blocks on top of blocks still being written, each durable when it resolves', async () => {
    const heads: number[] = []
    const commits = chain.slice(0, 6).map(({ block, cert }) => store.commitBlock(block, cert).then(() => heads.push(store.head()!.height)))
    // A preview is made on the last accepted block, not on the durable head.
    assert.deepEqual(await store.previewStateRoot(chain[6]!.block.results), chain[6]!.block.header.stateRoot)
    await Promise.all(commits)
    assert.deepEqual(heads, [1, 2, 3, 4, 5, 6])
    await store.commitBlock(chain[6]!.block, chain[6]!.cert)
    assert.deepEqual(await store.verifyStore(), { ok: true, height: 7 })
  })

  it('a refused block in the pipeline leaves the blocks around it alone', async () => {
    const [a, b, c] = chain.slice(7, 10) as [Entry, Entry, Entry]
    const bad: Entry = { ...b, block: { ...b.block, header: { ...b.block.header, stateRoot: a.block.header.stateRoot } } }
    const results = await Promise.allSettled([a, bad, b, c].map((e) => store.commitBlock(e.block, e.cert)))
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'])
    assert.deepEqual(await store.verifyStore(), { ok: true, height: 10 })
  })

  it('a batch that fails to write fails every block accepted on it, and nothing of them is written', async () => {
    // Fail the next chained-batch write, as a full disk would.
    let failNext = true
    const failOnce = (write: (...args: unknown[]) => Promise<void>) =>
      function (this: unknown, ...args: unknown[]) {
        if (!failNext) return write.apply(this, args)
        failNext = false
        return Promise.reject(new Error('simulated write failure'))
      }
    await withBatchWrite(t.dir, failOnce, async () => {
      const [a, b, c] = chain.slice(10, 13) as [Entry, Entry, Entry]
      const results = await Promise.allSettled([a, b, c].map((e) => store.commitBlock(e.block, e.cert)))
      assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected', 'rejected'])
      assert.match(String((results[0] as PromiseRejectedResult).reason), /simulated write failure/)
      // Each later block fails either at its write (its parent was not written) or, if it arrives after the failure, at its link check.
      for (const r of results.slice(1)) assert.match(String((r as PromiseRejectedResult).reason), /was not written|block.header.height: is 1[23], expected 11/)
      assert.equal(store.head()!.height, 10)
      assert.equal(await store.getBlock(11), null)
      assert.deepEqual(await store.verifyStore(), { ok: true, height: 10 })
      // The state tree dropped the failed blocks: the same blocks go in afterwards.
      await Promise.all(chain.slice(10).map((e) => store.commitBlock(e.block, e.cert)))
      assert.deepEqual(store.head(), source.head())
      assert.deepEqual(await store.verifyStore(), { ok: true, height: 16 })
    })
  })
})

/** acceptBlocks: the next block is built on accepted blocks whose batches are still being written. */
describe('reads at the tip', () => {
  const t = tempDir()
  let source: LedgerStore
  let store: LedgerStore
  let chain: Entry[]
  before(async () => {
    ;({ source, store, chain } = await sourceAndTarget(t.dir, 4, 12, 10))
  })
  after(async () => {
    await source.close()
    await store.close()
    t.cleanup()
  })

  it('see the state and tx index of accepted blocks before they are durable; durable reads do not', async () => {
    const keys = Array.from({ length: 10 }, (_, i) => ({ instance: 'records', key: `k${i}` }))
    const ids = chain.flatMap((e) => e.block.txs.map((tx) => tx.id))
    // Expected state after each block: the last write of each key wins, a delete leaves null.
    const expected = new Map<string, Uint8Array | null>()
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const stall = (write: (...args: unknown[]) => Promise<void>) =>
      async function (this: unknown, ...args: unknown[]) {
        await gate
        return write.apply(this, args)
      }
    await withBatchWrite(t.dir, stall, async () => {
      const durables: Array<Promise<void>> = []
      for (const [b, { block, cert }] of chain.entries()) {
        durables.push((await store.acceptBlocks([{ block, cert }])).durable)
        for (const r of block.results) for (const w of r.writes) expected.set(w.key, w.value)
        assert.equal(store.tip()!.height, b + 1)
        assert.equal(store.head()!.height, 0, 'no batch is written while the gate is closed')
        const atTip = await store.getStateManyAtTip(keys)
        assert.deepEqual(atTip.map((e) => e?.value ?? null), keys.map((k) => expected.get(k.key) ?? null))
        assert.deepEqual(await store.getStateMany(keys), keys.map(() => null))
        const located = await store.txLocationsAtTip(ids)
        const inBlocks = chain.slice(0, b + 1).flatMap((e) => e.block.txs.map((_, index) => ({ height: e.block.header.height, index })))
        assert.deepEqual(located.slice(0, inBlocks.length), inBlocks)
        assert.deepEqual(located.slice(inBlocks.length), ids.slice(inBlocks.length).map(() => null))
      }
      release()
      await Promise.all(durables)
    })
    assert.deepEqual(store.head(), source.head())
    assert.deepEqual(await store.getStateManyAtTip(keys), await store.getStateMany(keys))
    assert.deepEqual(await store.txLocationsAtTip(ids), await store.txLocations(ids))
  })
})