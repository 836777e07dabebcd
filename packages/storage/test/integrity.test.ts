import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { ValidationError, ZERO_HASH, encodeBlock, resultsRootOf, toHex, txRootOf, verifyCommitCertificate, type Block } from '@vigil/common'
import { Level } from 'level'
import { CorruptionError, LedgerStore, type VerifyOptions } from '../src/index.js'
import { certKey, historyKey, historyPrefix, stateKey, txKey, HEAD_KEY } from '../src/keys.js'
import { encodeHead, decodeHead } from '../src/records.js'
import { CHAIN_ID, VALIDATORS, VALIDATORS_HASH, certify, commitBlocks, genesisBlock, nextBlock, copyDir, tempDir, val } from './helpers.js'

type Raw = Level<Buffer, Buffer>
const rawOpen = async (dir: string): Promise<Raw> => {
  const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  return db
}

/** Certificates are checked with the validators' keys: storage leaves signatures to the caller. */
const withSigs: VerifyOptions = {
  checkCertificate: (_h, cert) => verifyCommitCertificate(cert, { chainId: CHAIN_ID, validatorsHash: VALIDATORS_HASH }, VALIDATORS.map((v) => v.publicKey), 3),
}

/** A store holding genesis and 6 blocks of 20 transactions, closed; each case works on a copy. */
const base = tempDir()
let blocks: Block[] = []
before(async () => {
  const store = await LedgerStore.open(base.dir)
  await store.initGenesis(genesisBlock())
  let seed = 7
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  blocks = await commitBlocks(store, 6, 20, 30, rand)
  assert.deepEqual(await store.verifyStore(withSigs), { ok: true, height: 6 })
  await store.close()
})
after(() => base.cleanup())

const copyBase = () => copyDir(base.dir)

/** Applies `fn` to a copy of the base store, then verifies it with `opts`; `snapshot` first leaves a tree snapshot, so open() does not read the state records. */
async function tamper(fn: (db: Raw) => Promise<void>, opts = withSigs, snapshot = false): Promise<{ report: Awaited<ReturnType<LedgerStore['verifyStore']>>; store: LedgerStore; cleanup: () => Promise<void> }> {
  const t = copyBase()
  const openOpts = snapshot ? { snapshotMinKeys: 1 } : {}
  if (snapshot) await (await LedgerStore.open(t.dir, openOpts)).close()
  const db = await rawOpen(t.dir)
  await fn(db)
  await db.close()
  const store = await LedgerStore.open(t.dir, openOpts)
  const report = await store.verifyStore(opts)
  return { report, store, cleanup: async () => (await store.close(), t.cleanup()) }
}

/** A key written in block `h` that still holds that write's value. */
function liveWrite(h: number): { key: string; index: number } {
  const later = new Set(blocks.slice(h).flatMap((b) => b.results.flatMap((r) => r.writes.map((w) => w.key))))
  const b = blocks[h - 1]!
  for (let i = b.results.length - 1; i >= 0; i--) {
    for (const w of b.results[i]!.writes) if (w.value !== null && !later.has(w.key)) return { key: w.key, index: i }
  }
  throw new Error(`no live write in block ${h}`)
}

describe('verifyStore detects rewrites through a raw LevelDB handle', () => {
  it('a state value rewritten in place', async () => {
    const { key } = liveWrite(6)
    const { report, store, cleanup } = await tamper(async (db) => {
      const k = Buffer.from(stateKey('records', key))
      const v = (await db.get(k))!
      v[v.length - 1]! ^= 1
      await db.put(k, v)
    })
    assert.equal(report.ok, false)
    assert.equal(!report.ok && report.key, `records/${key}`)
    assert.match(store.damage() ?? '', /does not match/)
    await assert.rejects(store.previewStateRoot([]), CorruptionError)
    await cleanup()
  })

  it('a state value rewritten, when a replay checks the state roots: against the tree snapshot, or recomputed when the tree came from the records', async () => {
    const { key } = liveWrite(6)
    const flip = async (db: Raw): Promise<void> => {
      const k = Buffer.from(stateKey('records', key))
      const v = (await db.get(k))!
      v[v.length - 1]! ^= 1
      await db.put(k, v)
    }
    for (const snapshot of [true, false]) {
      const { report, store, cleanup } = await tamper(flip, { ...withSigs, replayed: true }, snapshot)
      assert.equal(store.damage() === null, snapshot, 'open() reads the state records only without a snapshot')
      assert.equal(!report.ok && report.key, `records/${key}`, `snapshot: ${snapshot}`)
      await cleanup()
    }
    const intact = await tamper(async () => undefined, { ...withSigs, replayed: true }, true)
    assert.deepEqual(intact.report, { ok: true, height: 6 })
    await intact.cleanup()
  })

  it('a state value moved to another version', async () => {
    const { key } = liveWrite(6)
    const { report, cleanup } = await tamper(async (db) => {
      const k = Buffer.from(stateKey('records', key))
      const v = (await db.get(k))!
      v[7] = 1 // height 6 -> 1
      await db.put(k, v)
    })
    assert.equal(!report.ok && report.key, `records/${key}`)
    await cleanup()
  })

  it('a state record deleted', async () => {
    const { key } = liveWrite(4)
    const { report, cleanup } = await tamper((db) => db.del(Buffer.from(stateKey('records', key))))
    assert.equal(!report.ok && report.key, `records/${key}`)
    await cleanup()
  })

  it('a byte of a stored block', async () => {
    for (const offset of [40, 300, 900, 2000]) {
      const { report, cleanup } = await tamper(async (db) => {
        const k = Buffer.from([0x62, 0, 0, 0, 0, 0, 0, 0, 3])
        const v = (await db.get(k))!
        v[offset % v.length]! ^= 0x10
        await db.put(k, v)
      })
      assert.equal(report.ok, false, `offset ${offset}`)
      assert.equal(!report.ok && report.height, 3, `offset ${offset}: ${JSON.stringify(report)}`)
      await cleanup()
    }
  })

  it('a certificate deleted: missing when certificates are checked, allowed when not', async () => {
    const deleted = await tamper((db) => db.del(Buffer.from(certKey(3))))
    assert.deepEqual(deleted.report, { ok: false, height: 3, key: 'certificate 3', reason: 'certificate 3 is missing' })
    assert.deepEqual(await deleted.store.verifyStore({}), { ok: true, height: 6 })
    await deleted.cleanup()
  })

  it('a tx index entry changed, deleted, and one added', async () => {
    const id = blocks[1]!.txs[4]!.id
    const { report, cleanup } = await tamper((db) => db.put(Buffer.from(txKey(id)), Buffer.from([0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 5])))
    assert.equal(!report.ok && report.height, 2)
    assert.equal(!report.ok && report.key, `tx ${toHex(id)}`)
    await cleanup()
    const deleted = await tamper((db) => db.del(Buffer.from(txKey(id))))
    assert.deepEqual(deleted.report, { ok: false, height: 2, key: `tx ${toHex(id)}`, reason: 'tx index entry missing' })
    await deleted.cleanup()
    const added = await tamper((db) => db.put(Buffer.from(txKey(new Uint8Array(32).fill(9))), Buffer.from([0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 5])))
    assert.equal(!added.report.ok && added.report.key, 'tx index')
    await added.cleanup()
  })

  it('a history entry rewritten, and one added', async () => {
    const { key, index } = liveWrite(5)
    const hk = Buffer.from(historyKey(historyPrefix('records', key), 5, index))
    // An entry is its key alone (the value is read from the block): rewriting means giving it content.
    const changed = await tamper((db) => db.put(hk, Buffer.of(1)))
    assert.equal(!changed.report.ok && changed.report.height, 5)
    await changed.cleanup()
    const added = await tamper((db) => db.put(Buffer.from(historyKey(historyPrefix('records', key), 2, 19)), Buffer.from(new Uint8Array(33))))
    assert.equal(added.report.ok, false)
    assert.equal(!added.report.ok && added.report.key, 'history')
    await added.cleanup()
  })

  it('the head record', async () => {
    const { report, cleanup } = await tamper(async (db) => {
      const head = decodeHead((await db.get(Buffer.from(HEAD_KEY)))!)
      await db.put(Buffer.from(HEAD_KEY), Buffer.from(encodeHead({ ...head, time: head.time + 1 })))
    })
    assert.equal(!report.ok && report.key, 'head')
    await cleanup()
  })
})

const VERIFY_CHILD = fileURLToPath(new URL('./fixtures/verify-copy.js', import.meta.url))

function verifyInChild(dir: string): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [VERIFY_CHILD, dir], { encoding: 'utf8', timeout: 30_000 })
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr }
}

describe('verifyStore detects flipped bytes in the LevelDB files', () => {
  it('never reports ok while the data differs', { timeout: 180_000 }, async () => {
    // Compact so the data sits in table files, then keep a reference dump of every record.
    const db = await rawOpen(base.dir)
    await (db as unknown as { compactRange(a: Buffer, b: Buffer): Promise<void> }).compactRange(Buffer.from([0]), Buffer.from([0xff]))
    const reference = (await db.iterator().all()).map(([k, v]) => `${toHex(k)}=${toHex(v)}`)
    await db.close()
    const files = readdirSync(base.dir).filter((f) => /\.(ldb|log)$/.test(f) && statSync(join(base.dir, f)).size > 0)
    assert.ok(files.length > 0)
    const outcomes = { refusedWithError: 0, reportedByVerify: 0, levelDbAbort: 0, unusedBytes: 0 }
    for (let trial = 0; trial < 40; trial++) {
      const t = copyBase()
      try {
        const file = join(t.dir, files[trial % files.length]!)
        const bytes = readFileSync(file)
        const at = Math.floor(Math.random() * bytes.length)
        bytes[at]! ^= 1 << trial % 8
        writeFileSync(file, bytes)
        const where = `trial ${trial}: flipped ${file}@${at}`
        const r = verifyInChild(t.dir)
        if (r.signal !== null || r.status !== 0) {
          // LevelDB's bundled build asserts on some corrupt internal keys and aborts the process.
          assert.match(r.stderr, /leveldb|Assertion/i, `${where}: child died without a LevelDB message: ${r.stderr}`)
          outcomes.levelDbAbort++
          continue
        }
        const res = JSON.parse(r.stdout) as { error?: { code?: string; message: string }; report?: { ok: boolean; reason?: string }; dump?: string[] | null }
        if (res.error) {
          assert.ok(res.error.code === 'CORRUPT' || res.error.code?.startsWith('LEVEL_'), `${where}: unclear error ${JSON.stringify(res.error)}`)
          outcomes.refusedWithError++
        } else if (!res.report!.ok) {
          assert.ok((res.report!.reason ?? '').length > 0)
          outcomes.reportedByVerify++
        } else {
          // Reads do not check LevelDB's block checksums, so some flips (in an internal key's
          // sequence/type trailer) make iteration repeat or reorder records without changing any:
          // the verdict is about content, so compare the records, not the raw iteration order.
          assert.deepEqual([...new Set(res.dump)].sort(), [...reference].sort(), `${where}: verify ok but the records differ`)
          outcomes.unusedBytes++
        }
      } finally {
        t.cleanup()
      }
    }
    console.log('flipped-byte outcomes', outcomes)
    assert.ok(outcomes.refusedWithError + outcomes.reportedByVerify > 0)
  })
})

describe('malformed blocks are refused before anything is written', () => {
  const t = tempDir()
  let store: LedgerStore
  before(async () => {
    store = await LedgerStore.open(t.dir)
    await store.initGenesis(genesisBlock())
    await commitBlocks(store, 2, 3)
  })
  after(async () => {
    await store.close()
    t.cleanup()
  })

  /** `bytes`: the encoding the caller hands in beside the block (see BlockEntry), made from the good block. */
  async function refused(mutate: (b: Block) => Block, pattern: RegExp, withCert = false, bytes?: (good: Block) => Uint8Array): Promise<void> {
    const head = store.head()!
    const good = await nextBlock(store, [{ writes: [{ instance: 'records', key: 'z', value: val(1) }] }, { writes: [], fail: true }])
    const bad = mutate(good)
    const entry = { block: bad, cert: withCert ? { ...certify(bad), seq: bad.header.height + 1 } : null, bytes: bytes?.(good) }
    await assert.rejects(store.commitBlocks([entry]), (err: Error) => err instanceof ValidationError && pattern.test(err.message))
    assert.deepEqual(store.head(), head)
    assert.equal(await store.getBlock(head.height + 1), null)
    assert.equal(await store.getTx(good.txs[0]!.id), null)
    assert.equal(await store.getState('records', 'z'), null)
  }

  const reroot = (b: Block): Block => ({ ...b, header: { ...b.header, txRoot: txRootOf(b.txs), resultsRoot: resultsRootOf(b.results) } })

  it('wrong height', () => refused((b) => ({ ...b, header: { ...b.header, height: b.header.height + 1 } }), /header\.height/))
  it('wrong prevHash', () => refused((b) => ({ ...b, header: { ...b.header, prevHash: ZERO_HASH } }), /header\.prevHash/))
  it('wrong chainId', () => refused((b) => ({ ...b, header: { ...b.header, chainId: 'other' } }), /header\.chainId/))
  it('wrong txRoot', () => refused((b) => ({ ...b, header: { ...b.header, txRoot: ZERO_HASH } }), /header\.txRoot/))
  it('wrong resultsRoot', () => refused((b) => ({ ...b, header: { ...b.header, resultsRoot: ZERO_HASH } }), /header\.resultsRoot/))
  it('wrong stateRoot', () => refused((b) => ({ ...b, header: { ...b.header, stateRoot: ZERO_HASH } }), /header\.stateRoot/))
  it('missing result', () => refused((b) => reroot({ ...b, results: b.results.slice(1) }), /block\.results/))
  it('writes in a failed result', () =>
    refused((b) => reroot({ ...b, results: b.results.map((r) => (r.code === 0 ? r : { ...r, writes: [{ instance: 'records', key: 'y', value: val(2) }] })) }), /failed transaction/))
  it('a malformed write', () => refused((b) => reroot({ ...b, results: b.results.map((r) => ({ ...r, writes: r.writes.map((w) => ({ ...w, instance: 'bad name!' })) })) }), /instance/))
  it('a duplicated transaction', () => refused((b) => reroot({ ...b, txs: [b.txs[0]!, b.txs[0]!] }), /twice/))
  it('a certificate for another sequence', () => refused((b) => b, /certificate\.seq/, true))
  describe('an encoding handed in that is not the block\'s', () => {
    it('another header', () => refused((b) => b, /header is not the block header/, false, (g) => encodeBlock({ ...g, header: { ...g.header, time: g.header.time + 1 } })))
    it('another transaction', () => refused((b) => b, /transaction 0 differs/, false, (g) => encodeBlock({ ...g, txs: [g.txs[1]!, g.txs[0]!] })))
    it('another result', () => refused((b) => b, /header\.resultsRoot/, false, (g) => encodeBlock({ ...g, results: g.results.map((r) => ({ ...r, ret: 'other' })) })))
    it('a result missing', () => refused((b) => b, /another number/, false, (g) => encodeBlock({ ...g, results: g.results.slice(1) })))
    it('cut short', () => refused((b) => b, /block bytes: block layout: truncated/, false, (g) => encodeBlock(g).subarray(0, 100)))
  })
  it('still accepts a good block afterwards, encoded by the caller', async () => {
    const good = await nextBlock(store, [{ writes: [{ instance: 'records', key: 'z', value: val(1) }] }])
    await store.commitBlocks([{ block: good, cert: certify(good), bytes: encodeBlock(good) }])
    assert.deepEqual(await store.verifyStore(), { ok: true, height: 3 })
  })
})
