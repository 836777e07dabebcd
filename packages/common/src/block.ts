import { blockLayout, byteStringContent, cborArrayItems, type BlockLayout } from './block-layout.js'
import { concatBytes } from './bytes.js'
import { decodeCanonical, decodeStrict, encode } from './cbor.js'
import { expectArray, expectBytes, expectJson, expectString, expectUint } from './check.js'
import { DecodeError } from './errors.js'
import { HASH_BYTES, merkleRoot, sha256 } from './hash.js'
import { NAME_RE, decodeTx, decodeTxOfCertifiedBlock, type Tx } from './tx.js'

/**
 * Blocks. Height equals the PBFT sequence number; block 0 is genesis. The header is hashed;
 * the body carries the transactions as their exact encodings and one result per transaction.
 *
 * What signatures cover: the PBFT commit certificate of block h signs its batch digest,
 * which includes `parent` = hash(header h-1). So the certificate of block h+1 covers header h
 * and with it h's state root (see docs/design.md).
 */
export interface BlockHeader {
  chainId: string
  height: number
  prevHash: Uint8Array
  /** Milliseconds since the epoch, chosen by the primary and bounded by the backups. */
  time: number
  txRoot: Uint8Array
  resultsRoot: Uint8Array
  /** World-state root after executing this block. */
  stateRoot: Uint8Array
  /**
   * Digest the PBFT commit certificate signs (genesis: the genesis file's hash). The view and
   * primary are deliberately not in the header: one batch can be committed in view v on one
   * replica and, re-proposed by NEW-VIEW, in view v+1 on another; the header must be the same
   * on both. The certificate stored beside the block says which view certified it.
   */
  batchDigest: Uint8Array
  validatorsHash: Uint8Array
}

/** One state change: value is the canonical CBOR of a JSON value, or null for a delete. */
export interface StateWrite {
  instance: string
  key: string
  value: Uint8Array | null
}

/** A transaction's deterministic outcome. code 0 = ok; a failed transaction has no writes. */
export interface TxResult {
  code: number
  error: string | null
  /** Method's return value (JSON) or null. */
  ret: unknown
  writes: StateWrite[]
}

export interface Block {
  header: BlockHeader
  txs: Tx[]
  results: TxResult[]
}

export const MAX_BLOCK_BYTES = 16 * 1024 * 1024
export const MAX_KEY_LENGTH = 256

function headerFields(h: BlockHeader): unknown[] {
  return ['vigil/header/2', h.chainId, h.height, h.prevHash, h.time, h.txRoot, h.resultsRoot, h.stateRoot, h.batchDigest, h.validatorsHash]
}

export function encodeHeader(h: BlockHeader): Uint8Array {
  return encode(headerFields(h))
}

export function headerHash(h: BlockHeader): Uint8Array {
  return sha256(encodeHeader(h))
}

export function decodeHeaderFields(v: unknown, what = 'header'): BlockHeader {
  const f = expectArray(v, what, 10)
  if (f[0] !== 'vigil/header/2') throw new DecodeError(`${what}: unknown header version`)
  return {
    chainId: expectString(f[1], `${what}.chainId`, 64),
    height: expectUint(f[2], `${what}.height`),
    prevHash: expectBytes(f[3], `${what}.prevHash`, HASH_BYTES),
    time: expectUint(f[4], `${what}.time`),
    txRoot: expectBytes(f[5], `${what}.txRoot`, HASH_BYTES),
    resultsRoot: expectBytes(f[6], `${what}.resultsRoot`, HASH_BYTES),
    stateRoot: expectBytes(f[7], `${what}.stateRoot`, HASH_BYTES),
    batchDigest: expectBytes(f[8], `${what}.batchDigest`, HASH_BYTES),
    validatorsHash: expectBytes(f[9], `${what}.validatorsHash`, HASH_BYTES),
  }
}

export function decodeHeader(bytes: Uint8Array): BlockHeader {
  return decodeHeaderFields(decodeCanonical(bytes, 4096, 'header'))
}

function resultFields(r: TxResult): unknown[] {
  return [r.code, r.error, r.ret, r.writes.map((w) => [w.instance, w.key, w.value])]
}

export function encodeResult(r: TxResult): Uint8Array {
  return encode(resultFields(r))
}

export function resultHash(r: TxResult): Uint8Array {
  return sha256(encodeResult(r))
}

function decodeResultFields(v: unknown, what: string): TxResult {
  const f = expectArray(v, what, 4)
  const writes = expectArray(f[3], `${what}.writes`).map((w, i) => {
    const wf = expectArray(w, `${what}.writes[${i}]`, 3)
    return {
      instance: expectString(wf[0], `${what}.writes[${i}].instance`, 64, NAME_RE),
      key: expectString(wf[1], `${what}.writes[${i}].key`, MAX_KEY_LENGTH),
      value: wf[2] === null ? null : expectBytes(wf[2], `${what}.writes[${i}].value`),
    }
  })
  return {
    code: expectUint(f[0], `${what}.code`, 0xffff),
    error: f[1] === null ? null : expectString(f[1], `${what}.error`, 1024),
    ret: expectJson(f[2], `${what}.ret`),
    writes,
  }
}

export function txRootOf(txs: readonly Tx[]): Uint8Array {
  return merkleRoot(txs.map((t) => t.id))
}

export function resultsRootOf(results: readonly TxResult[]): Uint8Array {
  return merkleRoot(results.map(resultHash))
}

/** resultsRootOf from the results' encodings: item i of `bytes` at [start[i], end[i]) is encodeResult(result i) (see block-layout.ts). */
export function resultsRootOfSlices(bytes: Uint8Array, start: Uint32Array, end: Uint32Array): Uint8Array {
  const hashes: Uint8Array[] = []
  for (let i = 0; i < start.length; i++) hashes.push(sha256(bytes.subarray(start[i], end[i])))
  return merkleRoot(hashes)
}

export function encodeBlock(b: Block): Uint8Array {
  return encode([headerFields(b.header), b.txs.map((t) => t.bytes), b.results.map(resultFields)])
}

/** A block and its canonical encoding (encodeBlock's bytes), made together by sealBlock. */
export interface SealedBlock {
  block: Block
  bytes: Uint8Array
}

const ARRAY_OF_3 = Uint8Array.of(0x83)
const ARRAY_OF_1 = Uint8Array.of(0x81)

/**
 * Completes a block from its header fields, transactions and results, encoding it once: the
 * results are encoded in one call and the results root hashed from the slices of that encoding
 * (see block-layout.ts), and the block's bytes are the header's, the transactions' and those
 * results' encodings behind an array head. Measured on block sync: one encoder call per result
 * plus a second whole-block encoding to compare and a third to store cost ~2 s per 100k transactions.
 */
export function sealBlock(fields: Omit<BlockHeader, 'resultsRoot'>, txs: Tx[], results: TxResult[]): SealedBlock {
  const resultBytes = encode(results.map(resultFields))
  const { start, end } = cborArrayItems(resultBytes)
  const header: BlockHeader = { ...fields, resultsRoot: resultsRootOfSlices(resultBytes, start, end) }
  const bytes = concatBytes(ARRAY_OF_3, encodeHeader(header), encode(txs.map((t) => t.bytes)), resultBytes)
  return { block: { header, txs, results }, bytes }
}

/** Structure only; links, roots and certificates are checked by the ledger's verifiers. */
export function decodeBlock(bytes: Uint8Array, maxBytes = MAX_BLOCK_BYTES): Block {
  return blockOf(decodeCanonical(bytes, maxBytes, 'block'))
}

/**
 * decodeBlock for a verifier that re-executes the block, checks its transactions' ids against
 * the certified txRoot and compares the bytes of the block it rebuilt (canonical, see sealBlock)
 * with these: those checks refuse any other encoding, so none is re-encoded here (see
 * decodeStrict, decodeTxOfCertifiedBlock).
 */
export function decodeBlockToRebuild(bytes: Uint8Array): Block {
  return blockOf(decodeStrict(bytes, MAX_BLOCK_BYTES, 'block'), decodeTxOfCertifiedBlock)
}

/**
 * The header and transactions of an encoded block, its results not decoded at all: for a
 * verifier that re-executes the block and compares the bytes it rebuilds with these (any other
 * results, count or encoding fails there), and decodes the block whole only to say how it
 * differs. Decoding the results it then discards was ~10% of the audit's garbage. Whatever this
 * cannot read gets decodeBlockToRebuild's answer, so errors are the same as before.
 */
export function decodeBlockTxs(bytes: Uint8Array): Pick<Block, 'header' | 'txs'> {
  try {
    return headerAndTxs(bytes)
  } catch {
    return decodeBlockToRebuild(bytes)
  }
}

function headerAndTxs(bytes: Uint8Array): Pick<Block, 'header' | 'txs'> {
  if (bytes.byteLength > MAX_BLOCK_BYTES) throw new Error('too large')
  const layout = blockLayout(bytes)
  const header = decodeHeaderFields(decodeStrict(bytes.subarray(layout.header[0], layout.header[1]), MAX_BLOCK_BYTES, 'block.header'), 'block.header')
  const txs = new Array<Tx>(layout.txStart.length)
  for (let i = 0; i < txs.length; i++) txs[i] = decodeTxOfCertifiedBlock(byteStringContent(bytes, layout.txStart[i]!, layout.txEnd[i]!))
  return { header, txs }
}

function blockOf(v: unknown, txOf: (bytes: Uint8Array) => Tx = decodeTx): Block {
  const f = expectArray(v, 'block', 3)
  const header = decodeHeaderFields(f[0], 'block.header')
  const txs = expectArray(f[1], 'block.txs').map((t, i) => {
    try {
      return txOf(expectBytes(t, `block.txs[${i}]`))
    } catch (err) {
      throw new DecodeError(`block.txs[${i}]: ${(err as Error).message}`)
    }
  })
  const results = expectArray(f[2], 'block.results').map((r, i) => decodeResultFields(r, `block.results[${i}]`))
  if (results.length !== txs.length) throw new DecodeError(`block: ${txs.length} transactions but ${results.length} results`)
  return { header, txs, results }
}

/**
 * Transaction `index` of an encoded block with its result and the block's header, fully
 * validated: the three slices are re-assembled into a one-transaction block for decodeBlock,
 * so this accepts exactly what decodeBlock accepts, at the cost of one entry.
 */
export function decodeBlockEntry(b: Uint8Array, layout: BlockLayout, index: number): { header: BlockHeader; tx: Tx; result: TxResult } {
  if (index >= layout.txStart.length || index >= layout.resultStart.length) throw new Error(`block has no transaction ${index}`)
  const [hs, he] = layout.header
  const one = decodeBlock(concatBytes(ARRAY_OF_3, b.subarray(hs, he), ARRAY_OF_1, b.subarray(layout.txStart[index], layout.txEnd[index]), ARRAY_OF_1, b.subarray(layout.resultStart[index], layout.resultEnd[index])))
  return { header: one.header, tx: one.txs[0]!, result: one.results[0]! }
}
