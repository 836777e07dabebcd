import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import { Signer, encode, generateKeyPair, resultsRootOf, signTx, txRootOf, type StateWrite, type Tx, type TxResult } from '@vigil/common'
import type { CommitProfile } from '../src/index.js'
import { openDb } from '../src/db.js'
import { stateKey } from '../src/keys.js'
import { encodeLeaf } from '../src/records.js'
import { nextBlock, openBenchStore } from './chain.js'

/**
 * Storage benchmark: committed blocks of 500 transactions (one state write each) against raw
 * LevelDB doing the same job without the ledger. Prints a table and writes
 * bench-results/storage.json at the repo root.
 *
 * The baseline ("raw"): one chained batch per block, written with sync:true, holding the block's
 * 500 state writes as the store writes them (same key generator, same record key and value
 * bytes: s|records|0|patient/N -> height | index | value). So raw state writes/s over store
 * state writes/s is what the Merkle state, the checks, the indexes, history and block storage
 * cost. It is measured before and after the store run and averaged, because other jobs load
 * these 2 cores unevenly. The goal: the store reaches >= 30% of the raw rate.
 */
const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 300)
const RAW_BLOCKS = 300
const TXS_PER_BLOCK = 500
const KEY_SPACE = 1_000_000
const CHAIN_ID = 'bench'
const SYNC = true // what the store uses for a block batch

/** One transaction's state write: a random patient record of ~190 bytes of CBOR. */
function makeWrite(): StateWrite {
  return { instance: 'records', key: `patient/${Math.floor(Math.random() * KEY_SPACE)}`, value: new Uint8Array(encode({ note: randomBytes(90).toString('hex') })) }
}

/** The baseline: each block's state records, as the store would write them, in one synced chained batch; records made before timing. */
async function rawRate(dir: string): Promise<number> {
  const db = await openDb(dir)
  const blocks = Array.from({ length: RAW_BLOCKS }, (_, b) =>
    Array.from({ length: TXS_PER_BLOCK }, (_, index) => {
      const w = makeWrite()
      return { key: Buffer.from(stateKey(w.instance, w.key)), value: Buffer.from(encodeLeaf({ height: b + 1, index }, w.value!)) }
    }),
  )
  const start = performance.now()
  for (const records of blocks) {
    const batch = db.batch()
    for (const r of records) batch.put(r.key, r.value)
    await batch.write({ sync: SYNC })
  }
  const secs = (performance.now() - start) / 1000
  await db.close()
  return (RAW_BLOCKS * TXS_PER_BLOCK) / secs
}

/**
 * One block's signed transactions, results and roots, made outside the timed section: signing
 * is the clients' cost and the roots the executor's (storage's own re-validation of both is
 * inside commitBlock and timed). Made per block rather than all up front: 300 blocks of work
 * held at once (~1.5M live objects) made major GCs cost more than the commits themselves
 * (4 of 9 s of a profile), which no node holding a mempool would see.
 */
function makeBlockWork(signer: Signer, first: number): { txs: Tx[]; results: TxResult[]; txRoot: Uint8Array; resultsRoot: Uint8Array } {
  const txs: Tx[] = []
  const results: TxResult[] = []
  for (let i = 0; i < TXS_PER_BLOCK; i++) {
    const n = first + i
    txs.push(signTx({ chainId: CHAIN_ID, signer: signer.publicKey, instance: 'records', method: 'put', args: { i: n }, nonce: `n${n}` }, signer))
    results.push({ code: 0, error: null, ret: null, writes: [makeWrite()] })
  }
  return { txs, results, txRoot: txRootOf(txs), resultsRoot: resultsRootOf(results) }
}

/** Times only the store's calls: previewStateRoot, then commitBlock of the block built on it. */
async function commitRate(dir: string): Promise<{ blocksPerSec: number; writesPerSec: number; secs: number; cpuMsPerBlock: number; profile: CommitProfile }> {
  const signer = new Signer(generateKeyPair())
  const store = await openBenchStore(dir, CHAIN_ID)
  let ms = 0
  let cpuMs = 0
  for (let b = 0; b < BLOCKS; b++) {
    const { txs, results, txRoot, resultsRoot } = makeBlockWork(signer, b * TXS_PER_BLOCK)
    const start = performance.now()
    const cpu = process.cpuUsage()
    const block = await nextBlock(store, CHAIN_ID, txs, results, { txRoot, resultsRoot })
    await store.commitBlock(block, null)
    ms += performance.now() - start
    const used = process.cpuUsage(cpu)
    cpuMs += (used.user + used.system) / 1000
  }
  const profile = store.commitProfile()
  await store.close()
  const secs = ms / 1000
  return { blocksPerSec: BLOCKS / secs, writesPerSec: (BLOCKS * TXS_PER_BLOCK) / secs, secs, cpuMsPerBlock: cpuMs / BLOCKS, profile }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-'))
  try {
    const rawBefore = await rawRate(join(dir, 'raw-1'))
    const c = await commitRate(join(dir, 'ledger'))
    const rawAfter = await rawRate(join(dir, 'raw-2'))
    const raw = (rawBefore + rawAfter) / 2
    const ratio = c.writesPerSec / raw
    const p = c.profile
    const per = (ms: number): string => `${(ms / p.blocks).toFixed(2)} ms`
    const wallMs = (c.secs * 1000) / BLOCKS
    const rows: Array<[string, string]> = [
      [`raw LevelDB state writes/s: ${TXS_PER_BLOCK} state records per chained batch, sync:${SYNC} (before / after / mean)`, `${rawBefore.toFixed(0)} / ${rawAfter.toFixed(0)} / ${raw.toFixed(0)}`],
      [`committed blocks/s (${TXS_PER_BLOCK} tx, ${BLOCKS} blocks, sync:${SYNC})`, c.blocksPerSec.toFixed(1)],
      ['committed state writes/s', c.writesPerSec.toFixed(0)],
      [`store / raw state writes/s (the goal: >= 30%)`, `${(ratio * 100).toFixed(1)}%`],
      ['wall time per block', `${wallMs.toFixed(2)} ms`],
      ['  encode + checks (link, tx and results roots, writes, certificate)', per(p.checkMs)],
      ['  state tree (key/value hashes, Merkle update and hashing, preview included)', per(p.treeMs)],
      ['  batch build (record keys and values)', per(p.batchMs)],
      ['  LevelDB write + fsync', per(p.writeMs)],
      ['  rest (block assembly by the caller, event loop, GC)', per(wallMs * p.blocks - p.checkMs - p.treeMs - p.batchMs - p.writeMs)],
      ['process CPU per block, all threads (steadier than wall time on loaded cores)', `${c.cpuMsPerBlock.toFixed(1)} ms`],
    ]
    const w = Math.max(...rows.map((r) => r[0].length))
    for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`)
    console.log(`Raw = the same ${TXS_PER_BLOCK} state records per block (same keys and value bytes) in one chained batch with sync:${SYNC}, as the store writes them, without the ledger: the ratio is what the Merkle state, checks, indexes, history and block storage cost.`)
    const out = resolve(import.meta.dirname ?? '.', '../../../../bench-results')
    mkdirSync(out, { recursive: true })
    const json = {
      sync: SYNC,
      baseline: `raw LevelDB: ${TXS_PER_BLOCK} state records per chained batch, sync:${SYNC}, one batch per block`,
      rawStateWritesPerSec: raw,
      rawBeforeAfter: [rawBefore, rawAfter],
      blocks: BLOCKS,
      txsPerBlock: TXS_PER_BLOCK,
      blocksPerSec: c.blocksPerSec,
      stateWritesPerSec: c.writesPerSec,
      ratio,
      seconds: c.secs,
      cpuMsPerBlock: c.cpuMsPerBlock,
      msPerBlock: { wall: wallMs, check: p.checkMs / p.blocks, tree: p.treeMs / p.blocks, batch: p.batchMs / p.blocks, write: p.writeMs / p.blocks },
      node: process.version,
      date: new Date().toISOString(),
    }
    writeFileSync(join(out, 'storage.json'), JSON.stringify(json, null, 2) + '\n')
    console.log(`wrote ${join(out, 'storage.json')}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
