import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import {
  Signer,
  ZERO_HASH,
  batchDigest,
  commitSignBytes,
  encode,
  generateKeyPair,
  headerHash,
  keyPairFromSeed,
  resultsRootOf,
  sha256,
  signTx,
  txRootOf,
  utf8,
  type Block,
  type BlockHeader,
  type CommitCertificate,
  type StateWrite,
  type TxResult,
} from '@vigil/common'
import { LedgerStore, emptyStateRoot } from '../src/index.js'

/** Test chain fixtures: signed transactions with chosen write sets, blocks with correct roots, real certificates. */
export const CHAIN_ID = 'vigil-test'
export const VALIDATORS = [1, 2, 3, 4].map((i) => new Signer(keyPairFromSeed(new Uint8Array(32).fill(i))))
export const VALIDATORS_HASH = sha256(encode(['test-validators', VALIDATORS.map((v) => v.publicKey)]))
const client = new Signer(generateKeyPair())
let nonce = 0

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-storage-'))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A fresh temporary copy of a store directory, so each test can damage its own. */
export function copyDir(dir: string): { dir: string; cleanup: () => void } {
  const t = tempDir()
  cpSync(dir, t.dir, { recursive: true })
  return t
}

/** Plain Uint8Array copy: common's encoder may hand out Buffers, which deepEqual tells apart. */
export const u8 = (b: Uint8Array): Uint8Array => new Uint8Array(b)
export const val = (v: unknown): Uint8Array => u8(encode(v))

export function genesisBlock(time = 1_700_000_000_000): Block {
  const header = {
    chainId: CHAIN_ID,
    height: 0,
    prevHash: ZERO_HASH,
    time,
    txRoot: txRootOf([]),
    resultsRoot: resultsRootOf([]),
    stateRoot: emptyStateRoot(),
    batchDigest: sha256(utf8('genesis')),
    validatorsHash: VALIDATORS_HASH,
  }
  return { header, txs: [], results: [] }
}

export interface TxSpec {
  writes: StateWrite[]
  /** A failed transaction: code 1, no writes. */
  fail?: boolean
}

export function makeTx(spec: TxSpec, instance = 'records') {
  const tx = signTx({ chainId: CHAIN_ID, signer: client.publicKey, instance, method: 'put', args: { n: nonce }, nonce: `n${nonce++}` }, client)
  const result: TxResult = spec.fail ? { code: 1, error: 'refused', ret: null, writes: [] } : { code: 0, error: null, ret: null, writes: spec.writes }
  return { tx, result }
}

/** The next block on top of the store's head, or of `parent` (a block still being committed); state root from previewStateRoot. */
export async function nextBlock(store: LedgerStore, specs: TxSpec[], parent?: BlockHeader): Promise<Block> {
  const tip = parent === undefined ? store.head()! : { height: parent.height, hash: headerHash(parent), time: parent.time }
  const made = specs.map((s) => makeTx(s))
  const txs = made.map((m) => m.tx)
  const results = made.map((m) => m.result)
  const txRoot = txRootOf(txs)
  const time = tip.time + 1
  const header = {
    chainId: CHAIN_ID,
    height: tip.height + 1,
    prevHash: tip.hash,
    time,
    txRoot,
    resultsRoot: resultsRootOf(results),
    stateRoot: await store.previewStateRoot(results),
    batchDigest: batchDigest(time, tip.hash, txRoot),
    validatorsHash: VALIDATORS_HASH,
  }
  return { header, txs, results }
}

export function certify(block: Block): CommitCertificate {
  const { height: seq, batchDigest: digest } = block.header
  const msg = commitSignBytes({ chainId: CHAIN_ID, validatorsHash: VALIDATORS_HASH }, 0, seq, digest)
  return { view: 0, seq, digest, sigs: VALIDATORS.slice(0, 3).map((s, replica) => ({ replica, sig: s.sign(msg) })) }
}

/** `perBlock` single-write transactions over a key space of `keys`: mostly puts, some deletes and failures. */
export function randomSpecs(b: number, perBlock: number, keys = 50, rand: () => number = Math.random): TxSpec[] {
  const specs: TxSpec[] = []
  for (let i = 0; i < perBlock; i++) {
    const key = `k${Math.floor(rand() * keys)}`
    const r = rand()
    specs.push(r < 0.1 ? { writes: [{ instance: 'records', key, value: null }] } : r < 0.15 ? { writes: [], fail: true } : { writes: [{ instance: 'records', key, value: val({ b, i, r }) }] })
  }
  return specs
}

/** Commits `count` blocks of randomSpecs; returns the blocks. */
export async function commitBlocks(store: LedgerStore, count: number, perBlock: number, keys = 50, rand: () => number = Math.random): Promise<Block[]> {
  const out: Block[] = []
  for (let b = 0; b < count; b++) {
    const block = await nextBlock(store, randomSpecs(b, perBlock, keys, rand))
    await store.commitBlock(block, certify(block))
    out.push(block)
  }
  return out
}

export { headerHash }

export type ChainEntry = { block: Block; cert: CommitCertificate | null }

/**
 * A source store that built `count` blocks one by one, and an empty target (genesis only) to
 * feed them to: for tests of how a store takes a chain (groups, pipelining). Few keys, so later
 * blocks overwrite and delete what earlier ones wrote.
 */
export async function sourceAndTarget(dir: string, count: number, perBlock: number, keys: number): Promise<{ source: LedgerStore; store: LedgerStore; chain: ChainEntry[] }> {
  const source = await LedgerStore.open(join(dir, 'source'))
  const store = await LedgerStore.open(join(dir, 'target'))
  await source.initGenesis(genesisBlock())
  await store.initGenesis(genesisBlock())
  const chain = (await commitBlocks(source, count, perBlock, keys)).map((block) => ({ block, cert: certify(block) }))
  return { source, store, chain }
}

/**
 * Replaces LevelDB's chained-batch write for the duration of `fn` (every store's: the prototype
 * is shared), to stall or fail a block's write the way a slow or full disk would.
 */
export async function withBatchWrite<T>(dir: string, wrap: (write: (...args: unknown[]) => Promise<void>) => (this: unknown, ...args: unknown[]) => Promise<void>, fn: () => Promise<T>): Promise<T> {
  const probe = new Level(join(dir, 'probe'))
  await probe.open()
  const proto = Object.getPrototypeOf(probe.batch()) as { write: (...args: unknown[]) => Promise<void> }
  await probe.close()
  const write = proto.write
  proto.write = wrap(write)
  try {
    return await fn()
  } finally {
    proto.write = write
  }
}
