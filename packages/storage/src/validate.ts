import {
  HASH_BYTES,
  MAX_BLOCK_BYTES,
  MAX_KEY_LENGTH,
  NAME_RE,
  ValidationError,
  blockLayout,
  cborHeadBytes,
  encodeBlock,
  encodeHeader,
  equalBytes,
  keyOf,
  resultsRootOfSlices,
  toHex,
  txRootOf,
  type Block,
  type BlockHeader,
  type BlockLayout,
  type CommitCertificate,
  type StateWrite,
} from '@vigil/common'
import { emptyStateRoot, stateKeyHash, stateValueHash } from './merkle/hash.js'
import type { LeafUpdate } from './merkle/tree.js'

/**
 * Structural rules a block must meet before storage writes it, shared by commitBlock (throws)
 * and verifyStore (reports). Signatures and execution are the caller's business; everything
 * here is recomputable from the block itself and the previous header.
 */
function fail(field: string, msg: string): never {
  throw new ValidationError(`${field}: ${msg}`)
}

function sameBytes(a: Uint8Array, b: Uint8Array, field: string): void {
  if (!equalBytes(a, b)) fail(field, `is ${toHex(a)}, expected ${toHex(b)}`)
}

// A lone surrogate would encode to U+FFFD, so two different keys would share one record.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** Write j of result i; the field name is built only for a failure (this runs for every write, several times per block). */
function checkWrite(w: StateWrite, i: number, j: number): void {
  if (typeof w.instance !== 'string' || !NAME_RE.test(w.instance)) fail(`block.results[${i}].writes[${j}].instance`, 'is not a valid instance name')
  if (typeof w.key !== 'string' || w.key.length > MAX_KEY_LENGTH || LONE_SURROGATE.test(w.key)) fail(`block.results[${i}].writes[${j}].key`, `must be well-formed text of at most ${MAX_KEY_LENGTH} characters`)
  if (w.value !== null && !(w.value instanceof Uint8Array)) fail(`block.results[${i}].writes[${j}].value`, 'must be bytes or null')
}

/** Write sets of a block's results: well-formed, and none for a failed transaction. */
export function checkResults(results: ReadonlyArray<{ code: number; writes: readonly StateWrite[] }>): void {
  results.forEach((r, i) => {
    if (!Array.isArray(r.writes)) fail(`block.results[${i}].writes`, 'must be a list')
    if (r.code !== 0 && r.writes.length > 0) fail(`block.results[${i}].writes`, `failed transaction (code ${r.code}) must not write state`)
    r.writes.forEach((w, j) => checkWrite(w, i, j))
  })
}

/** A block's canonical encoding, computed once per commit and reused for its checks and its records. */
export interface EncodedBlock {
  bytes: Uint8Array
  layout: BlockLayout
}

/**
 * The block's encoding: `given` when the caller has it already (common's sealBlock, or a synced
 * block's bytes once they equal the rebuilt block's), else encoded here. Given bytes must be this
 * block's: their header and transaction slices are compared here, and checkBody hashes the
 * results root from their result slices.
 */
export function encodeChecked(block: Block, given?: Uint8Array): EncodedBlock {
  let bytes: Uint8Array
  try {
    bytes = given ?? encodeBlock(block)
  } catch (err) {
    fail('block', `cannot be encoded (${(err as Error).message})`)
  }
  if (bytes.byteLength > MAX_BLOCK_BYTES) fail('block', `encodes to ${bytes.byteLength} bytes, over the limit of ${MAX_BLOCK_BYTES}`)
  let layout: BlockLayout
  try {
    layout = blockLayout(bytes)
  } catch (err) {
    fail('block bytes', (err as Error).message)
  }
  if (given !== undefined) sameEncoding(block, bytes, layout)
  return { bytes, layout }
}

function sameEncoding(block: Block, bytes: Uint8Array, layout: BlockLayout): void {
  if (!equalBytes(bytes.subarray(layout.header[0], layout.header[1]), encodeHeader(block.header))) fail('block bytes', 'header is not the block header')
  if (layout.txStart.length !== block.txs.length || layout.resultStart.length !== block.results.length) fail('block bytes', 'hold another number of transactions or results')
  block.txs.forEach((t, i) => {
    // Item i is a byte string: its head, then the transaction's encoding.
    const n = t.bytes.byteLength
    if (layout.txEnd[i]! - layout.txStart[i]! !== cborHeadBytes(n) + n || !equalBytes(bytes.subarray(layout.txEnd[i]! - n, layout.txEnd[i]), t.bytes)) fail('block bytes', `transaction ${i} differs`)
  })
}

/**
 * Roots and body of any block (genesis included). The results root is hashed from the result
 * slices of the block's own encoding (slice i is encodeResult(results[i]), see layout.ts), which
 * saves encoding every result a second time: measured 2.4-9 ms of 500-result resultsRootOf per
 * block, most of it cborg's per-call buffer setup.
 */
export function checkBody(block: Block, enc: EncodedBlock): void {
  const { header, txs, results } = block
  if (results.length !== txs.length) fail('block.results', `${results.length} results for ${txs.length} transactions`)
  const ids = new Set<string>()
  txs.forEach((t, i) => {
    if (!(t.id instanceof Uint8Array) || t.id.byteLength !== HASH_BYTES) fail(`block.txs[${i}].id`, 'must be 32 bytes')
    const id = keyOf(t.id)
    if (ids.has(id)) fail(`block.txs[${i}]`, 'appears twice in the block')
    ids.add(id)
  })
  sameBytes(header.txRoot, txRootOf(txs), 'block.header.txRoot')
  checkResults(results)
  const { bytes, layout } = enc
  sameBytes(header.resultsRoot, resultsRootOfSlices(bytes, layout.resultStart, layout.resultEnd), 'block.header.resultsRoot')
}

export interface ChainTip {
  height: number
  hash: Uint8Array
  chainId: string
}

export function checkLink(header: BlockHeader, tip: ChainTip): void {
  if (header.height !== tip.height + 1) fail('block.header.height', `is ${header.height}, expected ${tip.height + 1}`)
  sameBytes(header.prevHash, tip.hash, 'block.header.prevHash')
  if (header.chainId !== tip.chainId) fail('block.header.chainId', `is "${header.chainId}", expected "${tip.chainId}"`)
}

export function checkGenesis(block: Block, enc: EncodedBlock): void {
  if (block.header.height !== 0) fail('genesis.header.height', `is ${block.header.height}, expected 0`)
  if (block.txs.length !== 0) fail('genesis.txs', 'must be empty')
  checkBody(block, enc)
  sameBytes(block.header.stateRoot, emptyStateRoot(), 'genesis.header.stateRoot')
}

/** Binds a certificate to its block; the signatures are for the caller to check. */
export function checkCertificate(cert: CommitCertificate, header: BlockHeader): void {
  if (cert.seq !== header.height) fail('certificate.seq', `is ${cert.seq}, expected ${header.height}`)
  sameBytes(cert.digest, header.batchDigest, 'certificate.digest')
}

/** One state write of a block with its version and hashes: computed once, used by the tree, the state records and the history. */
export interface PlannedWrite extends LeafUpdate {
  instance: string
  key: string
  value: Uint8Array | null
  index: number
}

export function planWrites(results: ReadonlyArray<{ writes: readonly StateWrite[] }>, height: number): PlannedWrite[] {
  const out: PlannedWrite[] = []
  results.forEach((r, index) => {
    for (const w of r.writes) {
      const keyHash = stateKeyHash(w.instance, w.key)
      out.push({ instance: w.instance, key: w.key, value: w.value, index, keyHash, valueHash: w.value === null ? null : stateValueHash(keyHash, w.value, height, index) })
    }
  })
  return out
}
