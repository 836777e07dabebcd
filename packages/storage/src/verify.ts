import { blockLayout, decodeBlock, decodeBlockToRebuild, equalBytes, headerHash, toHex, verifyTx, type Block, type BlockHeader, type CommitCertificate, type TxVersion } from '@vigil/common'
import { dbCount, dbGet, dbGetManySync, dbScan, type Db } from './db.js'
import { CorruptionError } from './errors.js'
import { HEAD_KEY, P_BLOCK, P_CERT, P_HASH, P_HEADER, P_HISTORY, P_STATE, P_TX, blockKey, certKey, hashKey, headerKey, historyKey, historyPrefix, parseStateKey, readU64, stateKey, txKey, u64 } from './keys.js'
import { stateKeyHash, stateValueHash } from './merkle/hash.js'
import { StateTree } from './merkle/tree.js'
import { HISTORY_ENTRY, decodeHead, decodeLeaf, decodeStoredBlock, decodeStoredCertificate, decodeTxLoc, type Head } from './records.js'
import { checkBody, checkCertificate, checkGenesis, checkLink, planWrites, type ChainTip, type EncodedBlock } from './validate.js'

export interface VerifyOptions {
  onProgress?: (height: number, total: number) => void
  /** Full checks (signatures, indexes, history) start here; earlier blocks are only replayed for the state. */
  fromHeight?: number
  /**
   * Signature check of a stored certificate (storage itself only checks it binds to its block);
   * throw to fail. Given, every block after genesis must have a certificate: a missing one is a failure.
   */
  checkCertificate?: (height: number, cert: CommitCertificate, header: BlockHeader) => void
  /** Check every transaction signature (default true); off for a caller that re-verifies every block itself. */
  txSignatures?: boolean
  /** The transaction format of the chain's ledger protocol (default: the current one). */
  txVersion?: TxVersion
  /**
   * The caller re-executes every block from these same stored bytes and compares what it
   * rebuilds with them byte for byte (the audit). That proves each header's state root and the
   * blocks' canonical encoding, so neither is checked again here, and world state is checked
   * against the store's own tree, whose root open() checked against the head's (see verifyStore).
   */
  replayed?: boolean
}

export type VerifyReport = { ok: true; height: number } | { ok: false; height?: number; key?: string; reason: string }

type Failure = Extract<VerifyReport, { ok: false }>

class Found extends Error {
  constructor(readonly report: Failure) {
    super(report.reason)
  }
}

function bad(report: Omit<Failure, 'ok'>): never {
  throw new Found({ ok: false, ...report })
}

/** Runs `fn`; any error it throws becomes a failure at `height`. */
async function at<T>(height: number, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof Found) throw err
    return bad({ height, reason: (err as Error).message })
  }
}

/**
 * Walks the chain from genesis and checks everything the store holds against the blocks:
 * hash links, transaction and result roots, transaction signatures, certificate binding, each
 * header's state root recomputed from the write sets, the hash index, tx index and history
 * entries of every block, the head record, no records beyond what the chain implies, and
 * finally every world-state leaf against the recomputed state. Reports the first failure.
 * With `finalState` (the state at the head, known good) the state roots are not recomputed
 * and world state is checked against it.
 */
export async function verifyLedger(db: Db, opts: VerifyOptions, finalState?: StateTree): Promise<VerifyReport> {
  try {
    return await run(db, opts, finalState)
  } catch (err) {
    if (err instanceof Found) return err.report
    if (err instanceof CorruptionError) return { ok: false, key: err.record, reason: err.message }
    throw err
  }
}

async function run(db: Db, opts: VerifyOptions, finalState: StateTree | undefined): Promise<VerifyReport> {
  const from = opts.fromHeight ?? 0
  const headBytes = await dbGet(db, HEAD_KEY, 'head')
  if (headBytes === undefined) {
    if ((await dbCount(db, P_BLOCK, 'blocks')) > 0) bad({ key: 'head', reason: 'blocks exist but there is no head record' })
    return { ok: true, height: -1 }
  }
  const head = decodeHead(headBytes)
  const tree = finalState ?? new StateTree()
  const decode = opts.replayed === true ? decodeBlockToRebuild : decodeBlock
  let tip: ChainTip | null = null
  let txEntries = 0
  let historyEntries = 0
  for (let h = 0; h <= head.height; h++) {
    const bytes = await dbGet(db, blockKey(h), `block ${h}`)
    if (bytes === undefined) bad({ height: h, reason: `block ${h} is missing (head is ${head.height})` })
    const block = await at(h, () => decodeStoredBlock(bytes, h, decode))
    const hash = headerHash(block.header)
    // The stored bytes are the block's canonical encoding: decodeBlock checked it, or the caller's rebuild does.
    const enc: EncodedBlock = { bytes, layout: blockLayout(bytes) }
    await at(h, () => {
      if (tip === null) checkGenesis(block, enc)
      else {
        checkLink(block.header, tip)
        checkBody(block, enc)
      }
      if (h >= from && opts.txSignatures !== false) for (const tx of block.txs) verifyTx(tx, block.header.chainId, opts.txVersion)
    })
    if (finalState === undefined) {
      const pending = tree.prepare(planWrites(block.results, h))
      tree.adopt(pending)
      if (!equalBytes(pending.root, block.header.stateRoot)) bad({ height: h, reason: `state root ${toHex(block.header.stateRoot)} in the header, ${toHex(pending.root)} recomputed from the write sets` })
    }
    if (h >= from) {
      await checkIndexes(db, block, enc, hash, opts)
      txEntries += await countOwnTxEntries(db, block, head)
      historyEntries += await checkHistory(db, block)
    }
    tip = { height: h, hash, chainId: block.header.chainId }
    opts.onProgress?.(h, head.height + 1)
  }
  const last = tip!
  const lastHeader = (await at(head.height, async () => decodeStoredBlock((await dbGet(db, blockKey(head.height), 'head block'))!, head.height))).header
  if (!equalBytes(head.hash, last.hash) || !equalBytes(head.stateRoot, lastHeader.stateRoot) || head.time !== lastHeader.time) {
    bad({ key: 'head', height: head.height, reason: 'head record does not match the last block' })
  }
  await checkNoExtras(db, head, from === 0 ? { txEntries, historyEntries } : null)
  await checkWorldState(db, tree, head)
  return { ok: true, height: head.height }
}

async function checkIndexes(db: Db, block: Block, enc: EncodedBlock, hash: Uint8Array, opts: VerifyOptions): Promise<void> {
  const h = block.header.height
  const header = await dbGet(db, headerKey(h), `header ${h}`)
  if (header === undefined || !equalBytes(header, enc.bytes.subarray(enc.layout.header[0], enc.layout.header[1]))) bad({ height: h, key: `header ${h}`, reason: 'header record missing or differs from the block' })
  const byHash = await dbGet(db, hashKey(hash), `hash index ${toHex(hash)}`)
  if (byHash === undefined || !equalBytes(byHash, u64(h))) bad({ height: h, key: `hash ${toHex(hash)}`, reason: 'hash index entry missing or wrong' })
  const certBytes = await dbGet(db, certKey(h), `certificate ${h}`)
  if (certBytes === undefined) {
    if (opts.checkCertificate !== undefined && h > 0) bad({ height: h, key: `certificate ${h}`, reason: `certificate ${h} is missing` })
  } else {
    await at(h, () => {
      const cert = decodeStoredCertificate(certBytes, h)
      checkCertificate(cert, block.header)
      opts.checkCertificate?.(h, cert, block.header)
    })
  }
}

/**
 * Each transaction's index entry must point at it, or at a later copy of the same transaction
 * (the index keeps the last one). Returns how many entries point into this block.
 *
 * Index and history entries are read synchronously (a few ms per block of 500): verifyStore
 * holds the store's lock, so nothing is written meanwhile, and getMany's thread-pool round
 * trips cost ~1 s more on a 100,000-transaction audit.
 */
async function countOwnTxEntries(db: Db, block: Block, head: Head): Promise<number> {
  const h = block.header.height
  const entries = dbGetManySync(db, block.txs.map((t) => txKey(t.id)), `tx index of block ${h}`)
  let own = 0
  for (let i = 0; i < entries.length; i++) {
    const id = block.txs[i]!.id
    const key = `tx ${toHex(id)}`
    const e = entries[i]
    if (e === undefined) bad({ height: h, key, reason: 'tx index entry missing' })
    const loc = await at(h, () => decodeTxLoc(e, key))
    if (loc.height === h && loc.index === i) {
      own++
      continue
    }
    const later = loc.height > h && loc.height <= head.height ? await at(h, async () => decodeStoredBlock((await dbGet(db, blockKey(loc.height), `block ${loc.height}`))!, loc.height)) : null
    const t = later?.txs[loc.index]
    if (t === undefined || !equalBytes(t.id, id)) bad({ height: h, key, reason: `tx index points to height ${loc.height} index ${loc.index}, expected ${h}/${i}` })
  }
  return own
}

/** Every write of the block has its (empty) history entry. Returns the number of distinct entries. */
async function checkHistory(db: Db, block: Block): Promise<number> {
  const h = block.header.height
  const expected = new Map<string, { key: Uint8Array; value: Uint8Array; name: string }>()
  block.results.forEach(({ writes }, index) => {
    for (const w of writes) {
      const key = historyKey(historyPrefix(w.instance, w.key), h, index)
      expected.set(toHex(key), { key, value: HISTORY_ENTRY, name: `history ${w.instance}/${w.key}@${h}/${index}` })
    }
  })
  const list = [...expected.values()]
  const got = dbGetManySync(db, list.map((e) => e.key), `history of block ${h}`)
  list.forEach((e, i) => {
    const g = got[i]
    if (g === undefined || !equalBytes(g, e.value)) bad({ height: h, key: e.name, reason: g === undefined ? 'history entry missing' : 'history entry differs from the block' })
  })
  return list.length
}

/** No block, index, certificate or history record beyond what the chain accounts for. */
async function checkNoExtras(db: Db, head: Head, expected: { txEntries: number; historyEntries: number } | null): Promise<void> {
  for (const [prefix, what, keyAt] of [[P_BLOCK, 'block', blockKey], [P_HEADER, 'header', headerKey], [P_CERT, 'certificate', certKey]] as const) {
    for await (const [k] of dbScan(db, { gte: keyAt(head.height + 1), lt: Uint8Array.of(prefix + 1) }, `${what}s`)) {
      bad({ height: k.byteLength === 9 ? readU64(k, 1) : undefined, key: `${what} ${toHex(k)}`, reason: `${what} record beyond the head (${head.height})` })
    }
  }
  const counts: Array<[number, string, number]> = [[P_HASH, 'hash index', head.height + 1], [P_HEADER, 'header', head.height + 1]]
  if (expected !== null) counts.push([P_TX, 'tx index', expected.txEntries], [P_HISTORY, 'history', expected.historyEntries])
  for (const [prefix, what, want] of counts) {
    const n = await dbCount(db, prefix, what)
    if (n !== want) bad({ key: what, reason: `${what} has ${n} entries, the chain accounts for ${want}` })
  }
}

/** Every stored leaf equals the state recomputed from the blocks, and none is missing. */
async function checkWorldState(db: Db, tree: StateTree, head: Head): Promise<void> {
  let n = 0
  for await (const [k, v] of dbScan(db, { gte: Uint8Array.of(P_STATE), lt: Uint8Array.of(P_STATE + 1) }, 'world state')) {
    const name = parseStateKey(k)
    if (name === null) bad({ key: `state record ${toHex(k)}`, reason: 'malformed key' })
    const key = `${name.instance}/${name.key}`
    const leaf = await at(head.height, () => decodeLeaf(v, `state ${key}`))
    const kh = stateKeyHash(name.instance, name.key)
    const want = tree.lookup(kh)
    if (want === null) bad({ key, reason: 'state record for a key the chain does not hold' })
    if (!equalBytes(stateValueHash(kh, leaf.value, leaf.version.height, leaf.version.index), want)) {
      bad({ key, height: leaf.version.height, reason: 'state value or version differs from the chain' })
    }
    n++
  }
  if (n === tree.size) return
  // Some leaf is missing: name it by finding the latest write whose value has no record.
  for (let h = head.height; h >= 0; h--) {
    const block = decodeStoredBlock((await dbGet(db, blockKey(h), `block ${h}`))!, h)
    for (const w of planWrites(block.results, h).reverse()) {
      if (w.valueHash === null || !equalBytes(tree.lookup(w.keyHash) ?? new Uint8Array(0), w.valueHash)) continue
      if ((await dbGet(db, stateKey(w.instance, w.key), `state ${w.instance}/${w.key}`)) === undefined) bad({ key: `${w.instance}/${w.key}`, height: h, reason: 'state record missing' })
    }
  }
  bad({ key: 'world state', reason: `${n} state records, the chain implies ${tree.size}` })
}
