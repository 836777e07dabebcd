import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Level } from 'level'
import { LedgerStore } from '../src/index.js'
import { sourceAndTarget, tempDir, type ChainEntry } from './helpers.js'

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
    const probe = new Level(join(t.dir, 'probe'))
    await probe.open()
    const proto = Object.getPrototypeOf(probe.batch()) as { write: (...args: unknown[]) => Promise<void> }
    await probe.close()
    const write = proto.write
    let failNext = true
    proto.write = function (this: unknown, ...args: unknown[]) {
      if (!failNext) return write.apply(this, args)
      failNext = false
      return Promise.reject(new Error('simulated write failure'))
    }
    try {
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
    } finally {
      proto.write = write
    }
  })
})
