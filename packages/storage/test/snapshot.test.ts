import assert from 'node:assert/strict'
import { copyFileSync, existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Level } from 'level'
import { LedgerStore, verifyStateProof, type OpenOptions } from '../src/index.js'
import { stateKey } from '../src/keys.js'
import { SNAPSHOT_FILE } from '../src/snapshot.js'
import { commitBlocks, copyDir, genesisBlock, tempDir } from './helpers.js'

/** Snapshots even for these small test states. */
const SMALL: OpenOptions = { snapshotMinKeys: 1 }

/** A closed store with a snapshot at its head (height 5, ~40 keys). */
const base = tempDir()
before(async () => {
  const store = await LedgerStore.open(base.dir, SMALL)
  await store.initGenesis(genesisBlock())
  await commitBlocks(store, 5, 20, 60)
  await store.close()
})
after(() => base.cleanup())

const copyBase = () => copyDir(base.dir)

/** Opens, checks the store is whole and its proofs verify, and returns how the tree was loaded. */
async function openAndCheck(dir: string, opts: OpenOptions = SMALL): Promise<ReturnType<LedgerStore['treeLoad']>> {
  const store = await LedgerStore.open(dir, opts)
  try {
    assert.equal(store.damage(), null)
    const head = store.head()!
    for (const key of ['k1', 'k7', 'absent']) {
      const p = await store.getProof('records', key)
      assert.deepEqual(p.stateRoot, head.stateRoot)
      assert.ok(verifyStateProof(head.stateRoot, 'records', key, p.value, p.proof))
    }
    assert.deepEqual(await store.verifyStore(), { ok: true, height: head.height })
    return store.treeLoad()
  } finally {
    await store.close()
  }
}

describe('state tree snapshots', () => {
  it('close writes one and open uses it', async () => {
    const t = copyBase()
    assert.ok(existsSync(join(t.dir, SNAPSHOT_FILE)))
    const load = await openAndCheck(t.dir)
    assert.equal(load.source, 'snapshot')
    assert.equal(load.snapshotHeight, 5)
    assert.equal(load.replayedBlocks, 0)
    t.cleanup()
  })

  it('a stale snapshot is brought to the head by replaying the blocks after it', async () => {
    const t = copyBase()
    const store = await LedgerStore.open(t.dir, { snapshotMinKeys: Infinity })
    await commitBlocks(store, 3, 10, 60)
    await store.close()
    const load = await openAndCheck(t.dir)
    assert.equal(load.source, 'snapshot')
    assert.equal(load.snapshotHeight, 5)
    assert.equal(load.replayedBlocks, 3)
    t.cleanup()
  })

  it('background snapshots leave commits intact and the store reopens from one', async () => {
    const t = tempDir()
    const store = await LedgerStore.open(t.dir, { snapshotMinKeys: 1, snapshotEveryWrites: 15 })
    await store.initGenesis(genesisBlock())
    await commitBlocks(store, 8, 10, 200)
    // Some snapshot below the head exists now; close may add the last one.
    await store.close()
    assert.equal((await openAndCheck(t.dir)).source, 'snapshot')
    t.cleanup()
  })

  /** Damages the snapshot file of a copy; the open must reject it, rebuild, and end up whole. */
  async function rejected(damage: (file: string) => void, reason: RegExp): Promise<void> {
    const t = copyBase()
    damage(join(t.dir, SNAPSHOT_FILE))
    const load = await openAndCheck(t.dir)
    assert.equal(load.source, 'state records')
    assert.match(load.snapshotRejected ?? '', reason)
    t.cleanup()
  }

  const HEADER = 56
  const flip = (at: (size: number) => number) => (file: string) => {
    const b = readFileSync(file)
    b[at(b.length)]! ^= 0x40
    writeFileSync(file, b)
  }

  it('a flipped bit in a value hash is detected', () => rejected(flip((n) => n - 1), /root/))
  it('a flipped bit in a key hash is detected', () => rejected(flip(() => HEADER + 64 * 3), /root|order|duplicate/))
  it('a flipped bit in the stated root is detected', () => rejected(flip(() => 8 + 8 + 5), /root/))
  it('a height beyond the head is refused', () => rejected(flip(() => 8 + 1), /beyond the head/))
  it('a truncated file is refused', () => rejected((f) => truncateSync(f, HEADER + 64 * 2 + 10), /bytes for/))
  it('garbage is refused', () => rejected((f) => writeFileSync(f, 'not a snapshot'), /not a snapshot/))

  it("another chain's consistent snapshot is refused: it must hash to this chain's header", async () => {
    const other = tempDir()
    const store = await LedgerStore.open(other.dir, SMALL)
    await store.initGenesis(genesisBlock())
    await commitBlocks(store, 5, 20, 60)
    await store.close()
    await rejected((f) => copyFileSync(join(other.dir, SNAPSHOT_FILE), f), /header's state root/)
    other.cleanup()
  })

  it('with a snapshot, state records are not read at open; verifyStore still finds a rewritten one', async () => {
    const t = copyBase()
    const db = new Level<Buffer, Buffer>(t.dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
    const [k] = (await db.keys({ gte: Buffer.from(stateKey('records', '')), limit: 1 }).all()) as Buffer[]
    const v = (await db.get(k!))!
    v[v.length - 1]! ^= 1
    await db.put(k!, v)
    await db.close()
    const store = await LedgerStore.open(t.dir, SMALL)
    assert.equal(store.treeLoad().source, 'snapshot')
    const report = await store.verifyStore()
    assert.equal(report.ok, false)
    assert.match(!report.ok ? report.reason : '', /state value or version differs/)
    await store.close()
    t.cleanup()
  })
})
