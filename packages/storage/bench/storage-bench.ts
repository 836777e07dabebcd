import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import { Level } from 'level'
import { Signer, ZERO_HASH, batchDigest, encode, generateKeyPair, resultsRootOf, sha256, signTx, txRootOf, utf8, type Block, type Tx, type TxResult } from '@vigil/common'
import { LedgerStore, emptyStateRoot } from '../src/index.js'

/**
 * Storage benchmark: raw LevelDB batch puts against full block commits (validation, state
 * root preview, Merkle update, one synced batch per block). Prints a table and writes
 * bench-results/storage.json at the repo root.
 *
 * Measured 2026-11 on 2 cores shared with other jobs (load average 6, so every number is noisy):
 * raw chained 514k puts/s (sync:false), raw db.batch(array) 54k, 35.2 blocks/s = 17.6k state
 * writes/s: 3.4% of the chained rate, 32.6% of the array rate. Per block the commit spends
 * roughly: LevelDB batch of ~450 KB synced ~10 ms, txRoot+resultsRoot re-validation ~5 ms
 * (common's merkleRoot), state tree + key/value hashing ~5-8 ms, block encoding ~1.5 ms.
 */
const RAW_BATCHES = 200
const RAW_BATCH = 1000
const VALUE_BYTES = 200
const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 300)
const TXS_PER_BLOCK = 500
const KEY_SPACE = 1_000_000
const CHAIN_ID = 'bench'

/**
 * Raw LevelDB, keys made before timing. 'chained' is the path the store uses (chained batch,
 * Buffer keys and values, the fastest measured here); 'array' is db.batch(array), the form
 * behind the ~271k puts/s of shared/stack-notes.md, 4-5x slower per put here.
 */
async function rawRate(dir: string, sync: boolean, form: 'chained' | 'array'): Promise<number> {
  const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  const value = randomBytes(VALUE_BYTES)
  const keys = Array.from({ length: RAW_BATCHES * RAW_BATCH }, () => randomBytes(16))
  const start = performance.now()
  for (let b = 0; b < RAW_BATCHES; b++) {
    if (form === 'array') {
      const ops = []
      for (let i = 0; i < RAW_BATCH; i++) ops.push({ type: 'put' as const, key: keys[b * RAW_BATCH + i]!, value })
      await db.batch(ops, { sync })
    } else {
      const batch = db.batch()
      for (let i = 0; i < RAW_BATCH; i++) batch.put(keys[b * RAW_BATCH + i]!, value)
      await batch.write({ sync })
    }
  }
  const secs = (performance.now() - start) / 1000
  await db.close()
  return (RAW_BATCHES * RAW_BATCH) / secs
}

/**
 * Signed transactions, their results and roots, made before timing: signing is the clients'
 * cost and the transaction/results roots the executor's. Storage's own re-validation of both
 * roots is inside commitBlock and timed.
 */
function makeWork(): Array<{ txs: Tx[]; results: TxResult[]; txRoot: Uint8Array; resultsRoot: Uint8Array }> {
  const signer = new Signer(generateKeyPair())
  const out = []
  let n = 0
  for (let b = 0; b < BLOCKS; b++) {
    const txs: Tx[] = []
    const results: TxResult[] = []
    for (let i = 0; i < TXS_PER_BLOCK; i++) {
      txs.push(signTx({ chainId: CHAIN_ID, signer: signer.publicKey, instance: 'records', method: 'put', args: { i: n }, nonce: `n${n++}` }, signer))
      const key = `patient/${Math.floor(Math.random() * KEY_SPACE)}`
      results.push({ code: 0, error: null, ret: null, writes: [{ instance: 'records', key, value: new Uint8Array(encode({ note: randomBytes(90).toString('hex') })) }] })
    }
    out.push({ txs, results, txRoot: txRootOf(txs), resultsRoot: resultsRootOf(results) })
  }
  return out
}

async function commitRate(dir: string): Promise<{ blocksPerSec: number; writesPerSec: number; secs: number }> {
  const work = makeWork()
  const store = await LedgerStore.open(dir)
  const vh = sha256(utf8('bench validators'))
  await store.initGenesis({
    header: { chainId: CHAIN_ID, height: 0, prevHash: ZERO_HASH, time: 1, txRoot: txRootOf([]), resultsRoot: resultsRootOf([]), stateRoot: emptyStateRoot(), view: 0, batchDigest: ZERO_HASH, proposer: 0, validatorsHash: vh },
    txs: [],
    results: [],
  })
  const start = performance.now()
  for (const { txs, results, txRoot, resultsRoot } of work) {
    const head = store.head()!
    const time = head.time + 1
    const block: Block = {
      header: { chainId: CHAIN_ID, height: head.height + 1, prevHash: head.hash, time, txRoot, resultsRoot, stateRoot: await store.previewStateRoot(results), view: 0, batchDigest: batchDigest(time, head.hash, txRoot), proposer: 0, validatorsHash: vh },
      txs,
      results,
    }
    await store.commitBlock(block, null)
  }
  const secs = (performance.now() - start) / 1000
  await store.close()
  return { blocksPerSec: BLOCKS / secs, writesPerSec: (BLOCKS * TXS_PER_BLOCK) / secs, secs }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-'))
  try {
    const raw = await rawRate(join(dir, 'raw'), false, 'chained')
    const rawSync = await rawRate(join(dir, 'raw-sync'), true, 'chained')
    const rawArray = await rawRate(join(dir, 'raw-array'), false, 'array')
    const c = await commitRate(join(dir, 'ledger'))
    const ratio = c.writesPerSec / raw
    const ratioArray = c.writesPerSec / rawArray
    const rows: Array<[string, string]> = [
      ['raw LevelDB puts/s (1000 x 200 B, chained batch, sync:false)', raw.toFixed(0)],
      ['raw LevelDB puts/s (1000 x 200 B, chained batch, sync:true)', rawSync.toFixed(0)],
      ['raw LevelDB puts/s (1000 x 200 B, db.batch(array), sync:false)', rawArray.toFixed(0)],
      [`committed blocks/s (${TXS_PER_BLOCK} tx, ${BLOCKS} blocks, sync:true)`, c.blocksPerSec.toFixed(1)],
      ['committed state writes/s', c.writesPerSec.toFixed(0)],
      ['ratio to raw chained sync:false (goal 30%)', `${(ratio * 100).toFixed(1)}%`],
      ['ratio to raw db.batch(array) sync:false', `${(ratioArray * 100).toFixed(1)}%`],
    ]
    const w = Math.max(...rows.map((r) => r[0].length))
    for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`)
    const out = resolve(import.meta.dirname ?? '.', '../../../../bench-results')
    mkdirSync(out, { recursive: true })
    const json = { rawPutsPerSec: raw, rawSyncPutsPerSec: rawSync, rawArrayPutsPerSec: rawArray, ratioToArray: ratioArray, blocks: BLOCKS, txsPerBlock: TXS_PER_BLOCK, blocksPerSec: c.blocksPerSec, stateWritesPerSec: c.writesPerSec, ratio, seconds: c.secs, node: process.version, date: new Date().toISOString() }
    writeFileSync(join(out, 'storage.json'), JSON.stringify(json, null, 2) + '\n')
    console.log(`wrote ${join(out, 'storage.json')}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
