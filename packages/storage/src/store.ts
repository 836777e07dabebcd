import {
  ValidationError,
  blockLayout,
  decodeBlockEntry,
  encodeCertificate,
  equalBytes,
  headerHash,
  sha256,
  toHex,
  type Block,
  type BlockHeader,
  type CommitCertificate,
  type StateWrite,
  type Tx,
  type TxResult,
} from '@vigil/common'
import { dbGet, dbGetMany, dbGetManySync, dbScan, dbWrite, openDb, type BatchOp, type Db } from './db.js'
import { CorruptionError } from './errors.js'
import {
  FORMAT_KEY,
  HEAD_KEY,
  P_CONSENSUS,
  blockKey,
  headerKey,
  certKey,
  consensusKey,
  hashKey,
  historyKey,
  historyPrefix,
  parseStateKey,
  prefixEnd,
  readU32,
  readU64,
  stateKey,
  statePrefix,
  txKey,
  u64,
  P_STATE,
} from './keys.js'
import { stateKeyHash, stateValueHash } from './merkle/hash.js'
import { StateTree, type Pending } from './merkle/tree.js'
import type { StateProof } from './proof.js'
import {
  HISTORY_ENTRY,
  checkFormat,
  decodedOrCorrupt,
  decodeHead,
  decodeLeaf,
  decodeStoredBlock,
  decodeStoredCertificate,
  decodeStoredHeader,
  decodeTxLoc,
  encodeFormat,
  encodeHead,
  encodeLeaf,
  encodeTxLoc,
  type Head,
  type Version,
} from './records.js'
import { Profiler, type CommitProfile } from './profile.js'
import { loadSnapshot, writeSnapshot } from './snapshot.js'
import { checkBody, checkCertificate, checkGenesis, checkLink, checkResults, encodeChecked, planWrites, type EncodedBlock, type PlannedWrite } from './validate.js'
import { verifyLedger, type VerifyOptions, type VerifyReport } from './verify.js'

export const MAX_SCAN_LIMIT = 1000
export const MAX_HISTORY_LIMIT = 1000
/** Bounds of one commitBlocks group: a sync response (64 blocks) fits with room to spare. */
export const MAX_GROUP_BLOCKS = 256
export const MAX_GROUP_BYTES = 64 * 1024 * 1024
const DEFAULT_HISTORY_LIMIT = 100

/** A block to commit, its certificate, and its encoding if the caller has it (see encodeChecked: checked against the block, not re-encoded). */
export interface BlockEntry {
  block: Block
  cert: CommitCertificate | null
  bytes?: Uint8Array
}

/** Per-transaction write sets in block order: what the node has after executing a block (a TxResult[] fits). */
export type BlockWrites = ReadonlyArray<{ code?: number; writes: readonly StateWrite[] }>

interface Prepared {
  height: number
  /** The pending version it was prepared on; undefined for the committed tree. */
  on: Pending | undefined
  plan: PlannedWrite[]
  pending: Pending
}

/** The last accepted block (checked, tree updated, batch queued) while its batch may not be durable yet. */
interface Staged {
  head: Head
  pending: Pending
}

/** What an accepted, not yet durable group writes to world state and the tx index: reads "at the tip" see it. */
interface StagedWrites {
  state: Map<string, { value: Uint8Array; version: Version } | null>
  txs: Map<string, Version>
}

const slotOf = (instance: string, key: string): string => `${instance}\u0000${key}`

export interface OpenOptions {
  /**
   * Keep a state-tree snapshot (see snapshot.ts) once the state has this many keys; default
   * 10,000. Below it the tree is rebuilt from the state records at open, which also checks every
   * record against the head's state root and takes well under a second.
   */
  snapshotMinKeys?: number
  /** Write a new snapshot in the background after this many state writes; default 250,000 (500 blocks of 500). */
  snapshotEveryWrites?: number
  /** LevelDB's block cache; default 8 MB. A whole-store reader (the audit) gains from more. */
  cacheBytes?: number
  /**
   * A throwaway copy for re-execution (the audit's replay): blocks are checked and applied as
   * usual, but the database gets only the head. World state and tx index stay in memory, where
   * getStateManyAtTip and txLocationsAtTip (what execution reads) find them; no blocks,
   * certificates, history or tree snapshot are kept. On a 100,000-transaction audit this saved
   * LevelDB's batch writes, compaction and reads: ~6 s of CPU of the ~27 s the replay took.
   * Such a store serves no blocks and no other reads: throw it away after use.
   */
  replayOnly?: boolean
}

/** How open() got the state tree; for logs and benchmarks. */
export interface TreeLoadReport {
  source: 'snapshot' | 'state records'
  ms: number
  keys: number
  /** Height of the snapshot used and the blocks replayed on top of it. */
  snapshotHeight?: number
  replayedBlocks?: number
  /** Why a snapshot file present at open was not used. */
  snapshotRejected?: string
}

/**
 * The ledger's LevelDB store. Each block goes in with its state writes, indexes, history,
 * certificate and new head in one synced batch, after every check passed; the in-memory head
 * and state tree change only once that batch is durable. Mutations are serialized.
 *
 * Pipelined commits: a commit holds the lock only while it checks the block, updates the tree
 * and builds the batch; the batch is then written after the previous one is durable. So the
 * caller may preview and commit block h+1 while block h's fsync runs. Batches are written in
 * order, one at a time, each with its head, so a crash leaves the store at a block boundary; a
 * commit resolves only once its own batch is durable; if a batch fails, every block accepted on
 * top of it fails too and nothing of them is written.
 */
export class LedgerStore {
  readonly #db: Db
  readonly #dir: string
  readonly #tree: StateTree
  readonly #snapshotMinKeys: number
  readonly #snapshotEveryWrites: number
  readonly #replayOnly: boolean
  readonly #treeLoad: TreeLoadReport
  #head: Head | null
  #chainId: string | null
  /** Why the stored state cannot be trusted (found at open); refuses state operations until repaired. */
  #damage: string | null
  #prepared: Prepared | null = null
  #queue: Promise<unknown> = Promise.resolve()
  /** Tip of the accepted blocks whose batches are not all durable yet; null when all are. */
  #staged: Staged | null = null
  /** Writes of the accepted groups not durable yet, oldest first. */
  #stagedWrites: StagedWrites[] = []
  /** replayOnly: every durable group's world-state and tx-index writes, which its database does not get. */
  readonly #kept: StagedWrites | null
  /** The last accepted group's write and adoption. */
  #durable: Promise<void> = Promise.resolve()
  /** Failed group writes so far: the first failure of a pipeline resets it, those staged on it only clean up. */
  #writeFailures = 0
  #snapshotHeight: number
  #writesSinceSnapshot = 0
  #snapshotting: Promise<void> | null = null
  readonly #profile = new Profiler()

  private constructor(db: Db, dir: string, opts: OpenOptions, tree: StateTree, treeLoad: TreeLoadReport, head: Head | null, chainId: string | null, damage: string | null) {
    this.#db = db
    this.#dir = dir
    this.#snapshotMinKeys = opts.snapshotMinKeys ?? 10_000
    this.#snapshotEveryWrites = opts.snapshotEveryWrites ?? 250_000
    this.#replayOnly = opts.replayOnly === true
    this.#kept = this.#replayOnly ? { state: new Map(), txs: new Map() } : null
    this.#tree = tree
    this.#treeLoad = treeLoad
    this.#snapshotHeight = treeLoad.snapshotHeight ?? -1
    this.#head = head
    this.#chainId = chainId
    this.#damage = damage
  }

  /**
   * Opens (creating if needed) the store in `dir` and loads the state tree: from a verified
   * snapshot plus the blocks after it when there is one, else rebuilt from the world-state
   * records. In the second case a state that does not hash to the head's state root does not
   * stop the open (so verifyStore can name the culprit), but refuses commits, previews and
   * proofs. In the first, state records are not read at open; verifyStore checks them.
   */
  static async open(dir: string, opts: OpenOptions = {}): Promise<LedgerStore> {
    const db = await openDb(dir, opts.cacheBytes)
    try {
      const headBytes = await dbGet(db, HEAD_KEY, 'head')
      const head = headBytes === undefined ? null : decodeHead(headBytes)
      if (head !== null) checkFormat(await dbGet(db, FORMAT_KEY, 'store format'))
      let damage: string | null = null
      let chainId: string | null = null
      const note = (msg: string): void => {
        damage ??= msg
      }
      const started = performance.now()
      let load: { tree: StateTree; report: Omit<TreeLoadReport, 'ms' | 'keys'> } | null = null
      let snapshotRejected: string | undefined
      if (head !== null) {
        try {
          const snap = await loadSnapshot(db, dir, head)
          if (snap !== null) load = { tree: snap.tree, report: { source: 'snapshot', snapshotHeight: snap.height, replayedBlocks: snap.replayed } }
        } catch (err) {
          snapshotRejected = (err as Error).message
        }
      }
      load ??= { tree: await scanState(db, note), report: { source: 'state records', ...(snapshotRejected === undefined ? {} : { snapshotRejected }) } }
      const { tree } = load
      const report: TreeLoadReport = { ...load.report, ms: performance.now() - started, keys: tree.size }
      if (head === null) {
        if (tree.size > 0) note('world state exists but there is no head')
      } else {
        const [genesis, atHead, beyond] = await dbGetMany(db, [blockKey(0), blockKey(head.height), blockKey(head.height + 1)], 'blocks')
        if (genesis === undefined) note('genesis block missing')
        else chainId = decodeStoredBlock(genesis, 0).header.chainId
        if (atHead === undefined) note(`head block ${head.height} missing`)
        if (beyond !== undefined) note(`block ${head.height + 1} exists beyond the head`)
        if (!equalBytes(tree.root(), head.stateRoot)) note(`world state root ${toHex(tree.root())} does not match the head's state root ${toHex(head.stateRoot)}`)
      }
      return new LedgerStore(db, dir, opts, tree, report, head, chainId, damage)
    } catch (err) {
      await db.close()
      throw err
    }
  }

  /** Waits for a background snapshot, writes a final one if the state is big enough and moved, and closes. */
  async close(): Promise<void> {
    await this.#queue.catch(() => undefined)
    await this.#settled()
    this.#discardPrepared()
    await this.#snapshotting
    const head = this.#head
    if (head !== null && this.#wantsSnapshot() && head.height > this.#snapshotHeight) await this.#snapshot(head.height).catch(() => undefined)
    await this.#db.close()
  }

  /** How open() loaded the state tree. */
  treeLoad(): TreeLoadReport {
    return { ...this.#treeLoad }
  }

  /** Time spent committing blocks since open, by phase. */
  commitProfile(): CommitProfile {
    return this.#profile.snapshot()
  }

  #wantsSnapshot(): boolean {
    return !this.#replayOnly && this.#damage === null && this.#tree.size >= this.#snapshotMinKeys
  }

  #snapshot(height: number): Promise<void> {
    this.#writesSinceSnapshot = 0
    return writeSnapshot(this.#dir, this.#tree, height).then(() => {
      this.#snapshotHeight = height
    })
  }

  /** After a commit: start a background snapshot when enough has been written since the last. A failed one only costs a slower open. */
  #maybeSnapshot(height: number, writes: number): void {
    this.#writesSinceSnapshot += writes
    if (this.#snapshotting !== null || this.#writesSinceSnapshot < this.#snapshotEveryWrites || !this.#wantsSnapshot()) return
    this.#snapshotting = this.#snapshot(height)
      .catch(() => undefined)
      .finally(() => {
        this.#snapshotting = null
      })
  }

  /** The last committed block; null before genesis. */
  head(): { height: number; hash: Uint8Array; stateRoot: Uint8Array; time: number } | null {
    const h = this.#head
    return h === null ? null : { height: h.height, hash: h.hash.slice(), stateRoot: h.stateRoot.slice(), time: h.time }
  }

  /** Non-null when the store found itself inconsistent at open; see verifyStore for details. */
  damage(): string | null {
    return this.#damage
  }

  /** Mutations and previews run one at a time, in call order. */
  #locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn)
    this.#queue = run.catch(() => undefined)
    return run
  }

  /** Waits until every accepted block is durable or refused; for operations that must see a settled store. */
  #settled(): Promise<void> {
    return this.#durable.catch(() => undefined)
  }

  /** Where the next block goes: on the last accepted block, durable or not. */
  #tip(): { head: Head; on: Pending | undefined } {
    const head = this.#requireHealthy()
    return this.#staged === null ? { head, on: undefined } : { head: this.#staged.head, on: this.#staged.pending }
  }

  #requireHealthy(): Head {
    if (this.#damage !== null) throw new CorruptionError('world state', `${this.#damage}; run verifyStore`)
    if (this.#head === null || this.#chainId === null) throw new ValidationError('store: no genesis block yet (initGenesis first)')
    return this.#head
  }

  initGenesis(block: Block): Promise<void> {
    return this.#locked(async () => {
      await this.#settled()
      const enc = encodeChecked(block)
      checkGenesis(block, enc)
      const hash = headerHash(block.header)
      if (this.#head !== null) {
        const existing = await this.getHeader(0)
        if (existing !== null && equalBytes(headerHash(existing), hash)) return
        throw new ValidationError(`genesis: this store holds a chain with genesis ${existing ? toHex(headerHash(existing)) : '(unreadable)'}, not ${toHex(hash)}`)
      }
      const head: Head = { height: 0, hash, stateRoot: block.header.stateRoot, time: block.header.time }
      await this.#write([
        { type: 'put', key: FORMAT_KEY, value: encodeFormat() },
        { type: 'put', key: blockKey(0), value: enc.bytes },
        { type: 'put', key: headerKey(0), value: headerBytes(enc) },
        { type: 'put', key: hashKey(hash), value: u64(0) },
        { type: 'put', key: HEAD_KEY, value: encodeHead(head) },
      ])
      this.#head = head
      this.#chainId = block.header.chainId
    })
  }

  /**
   * State root after the given per-transaction write sets are applied, as the block after the
   * last accepted one (the head, or a block whose commit is still being written). Writes
   * nothing; the result is kept so that committing the same writes next does not hash them
   * again. Takes per-transaction sets because a leaf commits to its version (height, index).
   */
  previewStateRoot(results: BlockWrites): Promise<Uint8Array> {
    return this.#locked(async () => {
      const { head, on } = this.#tip()
      const start = performance.now()
      checkResults(results.map((r) => ({ code: r.code ?? 0, writes: r.writes })))
      this.#discardPrepared()
      const plan = planWrites(results, head.height + 1)
      const pending = this.#tree.prepare(plan, on)
      this.#prepared = { height: head.height + 1, on, plan, pending }
      this.#profile.lap('treeMs', start)
      return pending.root.slice()
    })
  }

  #discardPrepared(): void {
    if (this.#prepared !== null) this.#tree.discard(this.#prepared.pending)
    this.#prepared = null
  }

  /** The tree update of a block on top of `on`: the prepared one if it was made for exactly these writes there, else a fresh one. */
  #treeUpdate(block: Block, on: Pending | undefined, ready: Prepared | null): Prepared {
    const height = block.header.height
    if (ready !== null && ready.on === on && ready.height === height && samePlan(ready.plan, block.results)) return ready
    const plan = planWrites(block.results, height)
    return { height, on, plan, pending: this.#tree.prepare(plan, on) }
  }

  /**
   * Validates the block against the last accepted block and itself, then writes it and
   * everything derived from it atomically; resolves once that is durable. The block is encoded
   * once: the results root is checked and the header hashed from slices of that encoding, which
   * is also the stored record.
   */
  commitBlock(block: Block, cert: CommitCertificate | null): Promise<void> {
    return this.commitBlocks([{ block, cert }])
  }

  /**
   * Group commit: consecutive blocks, each checked as commitBlock checks it and against the one
   * before, written in ONE synced batch. Resolves once that batch is durable; if any block is
   * refused, nothing is written and the head does not move. At most MAX_GROUP_BLOCKS blocks and
   * MAX_GROUP_BYTES of encoded blocks (the batch is held in memory).
   */
  async commitBlocks(entries: readonly BlockEntry[]): Promise<void> {
    await (await this.acceptBlocks(entries)).durable
  }

  /**
   * commitBlocks in two steps, for a caller that builds the next block while this one is
   * written: resolves once the group is checked and accepted (the next block goes on it; see
   * tip(), getStateManyAtTip, txLocationsAtTip), with `durable` resolving once it is written.
   */
  acceptBlocks(entries: readonly BlockEntry[]): Promise<{ durable: Promise<void> }> {
    return this.#locked(async () => ({ durable: this.#accept(entries) }))
  }

  /** Checks and stages a group under the lock; returns its write, queued after the previous group's. */
  #accept(entries: readonly BlockEntry[]): Promise<void> {
    const base = this.#tip()
    if (entries.length > MAX_GROUP_BLOCKS) throw new ValidationError(`commitBlocks: ${entries.length} blocks, limit ${MAX_GROUP_BLOCKS}`)
    const ready = this.#prepared
    this.#prepared = null
    const staged: Prepared[] = []
    const ops: BatchOp[] = []
    let tip = base.head
    let bytes = 0
    let writes = 0
    try {
      let t = performance.now()
      for (const { block, cert, bytes: given } of entries) {
        const { header } = block
        checkLink(header, { height: tip.height, hash: tip.hash, chainId: this.#chainId! })
        const enc = encodeChecked(block, given)
        bytes += enc.bytes.byteLength
        if (bytes > MAX_GROUP_BYTES) throw new ValidationError(`commitBlocks: blocks up to height ${header.height} encode to ${bytes} bytes, limit ${MAX_GROUP_BYTES}`)
        checkBody(block, enc)
        if (cert !== null) checkCertificate(cert, header)
        t = this.#profile.lap('checkMs', t)
        const prepared = this.#treeUpdate(block, staged.at(-1)?.pending ?? base.on, staged.length === 0 ? ready : null)
        t = this.#profile.lap('treeMs', t)
        staged.push(prepared)
        const { pending, plan } = prepared
        if (!equalBytes(pending.root, header.stateRoot)) {
          throw new ValidationError(`block.header.stateRoot: is ${toHex(header.stateRoot)}, but the block's writes give ${toHex(pending.root)}`)
        }
        const hash = sha256(headerBytes(enc))
        tip = { height: header.height, hash, stateRoot: header.stateRoot, time: header.time }
        if (!this.#replayOnly) pushBlockOps(ops, block, enc, hash, plan, cert)
        writes += plan.length
        t = this.#profile.lap('batchMs', t)
      }
    } catch (err) {
      for (const p of staged) this.#tree.discard(p.pending)
      throw err
    } finally {
      if (ready !== null && staged[0] !== ready) this.#tree.discard(ready.pending)
    }
    if (staged.length === 0) return Promise.resolve()
    ops.push({ type: 'put', key: HEAD_KEY, value: encodeHead(tip) })
    const last = staged.at(-1)!.pending
    const writesOf = stagedWritesOf(entries, staged)
    const failures = this.#writeFailures
    const durable = this.#durable
      .catch(() => undefined)
      .then(async () => {
        // Staged on a group whose batch failed: that group's state never came to be.
        if (this.#head !== base.head) throw new Error(`commitBlocks: block ${base.head.height} was not written, so blocks ${base.head.height + 1}..${tip.height} are not either`)
        const t = performance.now()
        await this.#write(ops)
        this.#profile.lap('writeMs', t)
      })
      .then(
        () => {
          for (const p of staged) this.#tree.adopt(p.pending)
          this.#head = tip
          if (this.#kept !== null) keep(this.#kept, writesOf)
          const at = this.#stagedWrites.indexOf(writesOf)
          if (at >= 0) this.#stagedWrites.splice(at, 1)
          if (this.#staged?.pending === last) this.#staged = null
          // A preview made on these blocks while they were written is now one on the committed tree.
          if (this.#prepared?.on === last) this.#prepared.on = undefined
          this.#profile.countBlocks(staged.length)
          this.#maybeSnapshot(tip.height, writes)
        },
        (err: unknown) => {
          // Everything accepted since was staged on these blocks: it fails in turn (see above) and
          // drops its own updates. New blocks go on the durable head from now on.
          if (failures === this.#writeFailures) {
            this.#writeFailures++
            this.#staged = null
            this.#stagedWrites = []
            if (this.#prepared?.on !== undefined) this.#discardPrepared()
          }
          for (const p of staged) this.#tree.discard(p.pending)
          throw err
        },
      )
    this.#staged = { head: tip, pending: last }
    this.#stagedWrites.push(writesOf)
    this.#durable = durable
    return durable
  }

  #write(ops: BatchOp[], sync = true): Promise<void> {
    return dbWrite(this.#db, ops, sync)
  }

  async getBlockBytes(height: number): Promise<Uint8Array | null> {
    if (!isHeight(height)) return null
    return (await dbGet(this.#db, blockKey(height), `block ${height}`)) ?? null
  }

  async getBlock(height: number): Promise<Block | null> {
    const bytes = await this.getBlockBytes(height)
    return bytes === null ? null : decodeStoredBlock(bytes, height)
  }

  /** Reads the header record alone: the history API asks for one header per entry. */
  async getHeader(height: number): Promise<BlockHeader | null> {
    if (!isHeight(height)) return null
    const b = await dbGet(this.#db, headerKey(height), `header ${height}`)
    return b === undefined ? null : decodeStoredHeader(b, height)
  }

  async getBlockByHash(hash: Uint8Array): Promise<Block | null> {
    const h = await dbGet(this.#db, hashKey(hash), `hash index ${toHex(hash)}`)
    if (h === undefined) return null
    if (h.byteLength !== 8) throw new CorruptionError(`hash index ${toHex(hash)}`, 'malformed height')
    const block = await this.getBlock(readU64(h, 0))
    if (block === null || !equalBytes(headerHash(block.header), hash)) throw new CorruptionError(`hash index ${toHex(hash)}`, 'points to a block with another hash')
    return block
  }

  async getCertificate(height: number): Promise<CommitCertificate | null> {
    if (!isHeight(height)) return null
    const b = await dbGet(this.#db, certKey(height), `certificate ${height}`)
    return b === undefined ? null : decodeStoredCertificate(b, height)
  }

  /**
   * Blocks from..from+count-1 as stored, each with its certificate, up to the first missing one
   * and within `softBytes` of blocks (past it only when the first block alone is larger): one
   * iterator and one getMany instead of two reads per block, for block sync's ranges.
   */
  async getBlockRange(from: number, count: number, softBytes: number): Promise<Array<{ block: Uint8Array; cert: CommitCertificate | null }>> {
    const blocks: Uint8Array[] = []
    if (!isHeight(from) || !Number.isSafeInteger(count) || count < 1) return []
    let size = 0
    // A few at a time: blocks may be megabytes each.
    for await (const [key, block] of dbScan(this.#db, { gte: blockKey(from), lt: blockKey(from + count) }, `blocks from ${from}`, 4)) {
      if (readU64(key, 1) !== from + blocks.length) break
      if (blocks.length > 0 && size + block.byteLength > softBytes) break
      blocks.push(block)
      size += block.byteLength
    }
    const certs = await dbGetMany(this.#db, blocks.map((_, i) => certKey(from + i)), `certificates from ${from}`)
    return blocks.map((block, i) => ({ block, cert: certs[i] === undefined ? null : decodeStoredCertificate(certs[i]!, from + i) }))
  }

  /** Stores a certificate that arrived after its block (sync); it must bind to the stored block. */
  putCertificate(height: number, cert: CommitCertificate): Promise<void> {
    return this.#locked(async () => {
      await this.#settled()
      const header = await this.getHeader(height)
      if (header === null) throw new ValidationError(`certificate: no block at height ${height}`)
      checkCertificate(cert, header)
      await this.#write([{ type: 'put', key: certKey(height), value: encodeCertificate(cert) }])
    })
  }

  /** The last accepted block: the head, or a block whose batch is still being written (acceptBlocks). */
  tip(): { height: number; hash: Uint8Array; stateRoot: Uint8Array; time: number } | null {
    const h = this.#staged?.head ?? this.#head
    return h === null ? null : { height: h.height, hash: h.hash.slice(), stateRoot: h.stateRoot.slice(), time: h.time }
  }

  /** The newest staged entry for `id` in `pick` of the not yet durable groups, else (replayOnly) the kept one; undefined if none has one. */
  #stagedLookup<T>(pick: (w: StagedWrites) => Map<string, T>, id: string): T | undefined {
    for (let i = this.#stagedWrites.length - 1; i >= 0; i--) {
      const found = pick(this.#stagedWrites[i]!).get(id)
      if (found !== undefined) return found
    }
    return this.#kept === null ? undefined : pick(this.#kept).get(id)
  }

  /**
   * Staged entries first (and a replayOnly store's kept ones), the database for the rest, read
   * synchronously: a write in flight is a staged group's, so it changes none of the keys read
   * from the database.
   */
  #atTip<T>(ids: string[], pick: (w: StagedWrites) => Map<string, T | null>, read: (missing: number[]) => Array<T | null>): Array<T | null> {
    if (this.#stagedWrites.length === 0 && this.#kept === null) return read(ids.map((_, i) => i))
    const out: Array<T | null | undefined> = ids.map((id) => this.#stagedLookup(pick, id))
    const missing = out.flatMap((v, i) => (v === undefined ? [i] : []))
    const found = missing.length === 0 ? [] : read(missing)
    missing.forEach((at, k) => (out[at] = found[k]!))
    return out as Array<T | null>
  }

  /** getStateMany as of tip(): sees the writes of accepted blocks that are not durable yet. */
  async getStateManyAtTip(keys: ReadonlyArray<{ instance: string; key: string }>): Promise<Array<{ value: Uint8Array; version: Version } | null>> {
    return this.#atTip(keys.map((k) => slotOf(k.instance, k.key)), (w) => w.state, (at) => {
      const wanted = at.map((i) => keys[i]!)
      return stateEntries(dbGetManySync(this.#db, wanted.map(stateKeyOf), 'state'), wanted)
    })
  }

  /** txLocations as of tip(). */
  async txLocationsAtTip(ids: readonly Uint8Array[]): Promise<Array<Version | null>> {
    return this.#atTip(ids.map(toHex), (w) => w.txs, (at) => {
      const wanted = at.map((i) => ids[i]!)
      return txLocs(dbGetManySync(this.#db, wanted.map(txKey), 'tx index'), wanted)
    })
  }

  /** Where each transaction id was committed, without reading blocks (duplicate checks on the hot path). */
  async txLocations(ids: readonly Uint8Array[]): Promise<Array<Version | null>> {
    return txLocs(await dbGetMany(this.#db, ids.map(txKey), 'tx index'), ids)
  }

  /** Decodes only this transaction's entry of its block. */
  async getTx(id: Uint8Array): Promise<{ height: number; index: number; tx: Tx; result: TxResult } | null> {
    const record = `tx index ${toHex(id)}`
    const b = await dbGet(this.#db, txKey(id), record)
    if (b === undefined) return null
    const loc = decodeTxLoc(b, record)
    const entry = await this.#blockEntry(loc.height, loc.index)
    if (entry === null || !equalBytes(entry.tx.id, id)) throw new CorruptionError(record, `points to height ${loc.height} index ${loc.index}, which does not hold this transaction`)
    return { height: loc.height, index: loc.index, tx: entry.tx, result: entry.result }
  }

  /** Transaction `index` of block `height` and its result; null if there is no such block or entry. */
  async #blockEntry(height: number, index: number): Promise<{ tx: Tx; result: TxResult } | null> {
    const bytes = await this.getBlockBytes(height)
    if (bytes === null) return null
    return decodedOrCorrupt(`block ${height}`, () => {
      const layout = blockLayout(bytes)
      if (index >= layout.txStart.length) return null
      const entry = decodeBlockEntry(bytes, layout, index)
      if (entry.header.height !== height) throw new Error(`record holds height ${entry.header.height}`)
      return entry
    })
  }

  async getState(instance: string, key: string): Promise<{ value: Uint8Array; version: Version } | null> {
    const b = await dbGet(this.#db, stateKey(instance, key), `state ${instance}/${key}`)
    return b === undefined ? null : decodeLeaf(b, `state ${instance}/${key}`)
  }

  /** Several state values in one LevelDB round trip (execution prefetches a block's reads). */
  async getStateMany(keys: ReadonlyArray<{ instance: string; key: string }>): Promise<Array<{ value: Uint8Array; version: Version } | null>> {
    return stateEntries(await dbGetMany(this.#db, keys.map(stateKeyOf), 'state'), keys)
  }

  /** Keys of one instance in UTF-8 byte order within [gte, lt) and under `prefix`; limit 1..1000. */
  async scanState(instance: string, opts: { prefix?: string; gte?: string; lt?: string; limit: number }): Promise<Array<{ key: string; value: Uint8Array; version: Version }>> {
    if (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > MAX_SCAN_LIMIT) throw new ValidationError(`scanState.limit: must be an integer in 1..${MAX_SCAN_LIMIT}`)
    const base = stateKey(instance, opts.prefix ?? '')
    let gte = base
    let lt = prefixEnd(base)
    if (opts.gte !== undefined) gte = maxBytes(gte, stateKey(instance, opts.gte))
    if (opts.lt !== undefined) lt = minBytes(lt, stateKey(instance, opts.lt))
    const out: Array<{ key: string; value: Uint8Array; version: Version }> = []
    if (Buffer.compare(gte, lt) >= 0) return out
    const skip = statePrefix(instance).byteLength
    for await (const [k, v] of dbScan(this.#db, { gte, lt, limit: opts.limit }, `state of ${instance}`)) {
      const name = parseStateKey(k)
      if (name === null || k.byteLength < skip) throw new CorruptionError(`state record ${toHex(k)}`, 'malformed key')
      const { value, version } = decodeLeaf(v, `state ${instance}/${name.key}`)
      out.push({ key: name.key, value, version })
    }
    return out
  }

  /** Membership or absence proof of (instance, key) against the head's state root. */
  async getProof(instance: string, key: string): Promise<{ value: Uint8Array | null; proof: StateProof; stateRoot: Uint8Array; height: number }> {
    const keyHash = stateKeyHash(instance, key)
    // The tree walk is synchronous; the value read is not, so a commit may land in between: retry then.
    for (let attempt = 0; attempt < 5; attempt++) {
      const head = this.#requireHealthy()
      const raw = this.#tree.prove(keyHash)
      const stateRoot = this.#tree.root()
      const levels = raw.levels
      if (raw.terminal.kind !== 'member') return { value: null, proof: { levels, terminal: raw.terminal }, stateRoot, height: head.height }
      const leaf = await this.getState(instance, key)
      if (this.#head !== head) continue
      if (leaf === null || !equalBytes(stateValueHash(keyHash, leaf.value, leaf.version.height, leaf.version.index), raw.terminal.valueHash)) {
        throw new CorruptionError(`state ${instance}/${key}`, 'stored value does not match the state tree')
      }
      return { value: leaf.value, proof: { levels, terminal: { kind: 'member', ...leaf.version } }, stateRoot, height: head.height }
    }
    throw new Error('getProof: the head kept moving; try again')
  }

  /** Writes of one key, oldest first, after `afterHeight` if given; limit default 100, at most 1000. */
  async history(instance: string, key: string, opts: { limit?: number; afterHeight?: number } = {}): Promise<Array<{ height: number; index: number; txId: Uint8Array; value: Uint8Array | null }>> {
    const limit = opts.limit ?? DEFAULT_HISTORY_LIMIT
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY_LIMIT) throw new ValidationError(`history.limit: must be an integer in 1..${MAX_HISTORY_LIMIT}`)
    const prefix = historyPrefix(instance, key)
    const from = opts.afterHeight === undefined ? prefix : historyKey(prefix, opts.afterHeight + 1, 0)
    const out: Array<{ height: number; index: number; txId: Uint8Array; value: Uint8Array | null }> = []
    const record = `history ${instance}/${key}`
    for await (const [k, v] of dbScan(this.#db, { gte: from, lt: prefixEnd(prefix), limit }, record)) {
      if (k.byteLength !== prefix.byteLength + 12 || v.byteLength !== 0) throw new CorruptionError(`${record} ${toHex(k)}`, 'malformed entry')
      const height = readU64(k, prefix.byteLength)
      const index = readU32(k, prefix.byteLength + 8)
      const entry = await this.#blockEntry(height, index)
      // The transaction's last write of this key is the one the entry records (later writes in a batch win).
      const write = entry?.result.writes.findLast((w) => w.instance === instance && w.key === key)
      if (entry === null || write === undefined) throw new CorruptionError(`${record}@${height}/${index}`, 'the block has no such write')
      out.push({ height, index, txId: entry.tx.id, value: write.value })
    }
    return out
  }

  /** Opaque keyspace for the PBFT log; null deletes. Synced by default: votes must be durable before they are sent. */
  async writeConsensus(records: Array<{ key: string; value: Uint8Array | null }>, opts: { sync?: boolean } = {}): Promise<void> {
    const ops: BatchOp[] = records.map((r) => (r.value === null ? { type: 'del', key: consensusKey(r.key) } : { type: 'put', key: consensusKey(r.key), value: r.value }))
    await this.#write(ops, opts.sync ?? true)
  }

  async readConsensus(): Promise<Array<{ key: string; value: Uint8Array }>> {
    const out: Array<{ key: string; value: Uint8Array }> = []
    const dec = new TextDecoder('utf-8', { fatal: true })
    for await (const [k, v] of dbScan(this.#db, { gte: Uint8Array.of(P_CONSENSUS), lt: Uint8Array.of(P_CONSENSUS + 1) }, 'consensus log')) {
      try {
        out.push({ key: dec.decode(k.subarray(1)), value: v })
      } catch {
        throw new CorruptionError(`consensus record ${toHex(k)}`, 'key is not UTF-8')
      }
    }
    return out
  }

  /**
   * Re-checks the whole store against its blocks; see verify.ts. Holds off commits while it runs.
   * With `replayed`, world state is checked against this store's tree, unless open() found that
   * tree disagreeing with the head (then the state is recomputed from the blocks, to name the
   * record at fault).
   */
  verifyStore(opts: VerifyOptions = {}): Promise<VerifyReport> {
    return this.#locked(async () => {
      await this.#settled()
      return verifyLedger(this.#db, opts, opts.replayed === true && this.#damage === null ? this.#tree : undefined)
    })
  }
}

/** The tree rebuilt from every world-state record; a record that cannot be read is noted as damage and skipped. */
async function scanState(db: Db, note: (msg: string) => void): Promise<StateTree> {
  const tree = new StateTree()
  for await (const [k, v] of dbScan(db, { gte: Uint8Array.of(P_STATE), lt: Uint8Array.of(P_STATE + 1) }, 'world state')) {
    const name = parseStateKey(k)
    if (name === null) {
      note(`state record ${toHex(k)}: malformed key`)
      continue
    }
    try {
      const { version, value } = decodeLeaf(v, `state ${name.instance}/${name.key}`)
      const kh = stateKeyHash(name.instance, name.key)
      tree.addLeaf(kh, stateValueHash(kh, value, version.height, version.index))
    } catch (err) {
      note((err as Error).message)
    }
  }
  tree.finishLoad()
  return tree
}

const isHeight = (h: number): boolean => Number.isSafeInteger(h) && h >= 0

const maxBytes = (a: Uint8Array, b: Uint8Array): Uint8Array => (Buffer.compare(a, b) >= 0 ? a : b)
const minBytes = (a: Uint8Array, b: Uint8Array): Uint8Array => (Buffer.compare(a, b) <= 0 ? a : b)

function samePlan(plan: readonly PlannedWrite[], results: BlockWrites): boolean {
  let i = 0
  for (let index = 0; index < results.length; index++) {
    for (const w of results[index]!.writes) {
      const p = plan[i++]
      if (p === undefined || p.index !== index || p.instance !== w.instance || p.key !== w.key) return false
      if (p.value === null || w.value === null ? p.value !== w.value : !equalBytes(p.value, w.value)) return false
    }
  }
  return i === plan.length
}

const headerBytes = (enc: EncodedBlock): Uint8Array => enc.bytes.subarray(enc.layout.header[0], enc.layout.header[1])

/**
 * Appends everything one block puts in the database; LevelDB applies a batch in order, so the
 * last write of a key wins.
 */
export function pushBlockOps(ops: BatchOp[], block: Block, enc: EncodedBlock, hash: Uint8Array, plan: readonly PlannedWrite[], cert: CommitCertificate | null): void {
  const height = block.header.height
  ops.push(
    { type: 'put', key: blockKey(height), value: enc.bytes },
    { type: 'put', key: headerKey(height), value: headerBytes(enc) },
    { type: 'put', key: hashKey(hash), value: u64(height) },
  )
  if (cert !== null) ops.push({ type: 'put', key: certKey(height), value: encodeCertificate(cert) })
  block.txs.forEach((tx, index) => ops.push({ type: 'put', key: txKey(tx.id), value: encodeTxLoc({ height, index }) }))
  for (const w of plan) {
    const sk = stateKey(w.instance, w.key)
    ops.push(w.value === null ? { type: 'del', key: sk } : { type: 'put', key: sk, value: encodeLeaf({ height, index: w.index }, w.value) })
    ops.push({ type: 'put', key: historyKey(historyPrefix(w.instance, w.key), height, w.index), value: HISTORY_ENTRY })
  }
}

/** Adds a durable group's writes to what a replayOnly store keeps in memory, later ones winning. */
function keep(into: StagedWrites, group: StagedWrites): void {
  for (const [slot, entry] of group.state) into.state.set(slot, entry)
  for (const [id, loc] of group.txs) into.txs.set(id, loc)
}

const stateKeyOf = (k: { instance: string; key: string }): Uint8Array => stateKey(k.instance, k.key)

const stateEntries = (found: Array<Uint8Array | undefined>, keys: ReadonlyArray<{ instance: string; key: string }>): Array<{ value: Uint8Array; version: Version } | null> =>
  found.map((b, i) => (b === undefined ? null : decodeLeaf(b, `state ${keys[i]!.instance}/${keys[i]!.key}`)))

const txLocs = (found: Array<Uint8Array | undefined>, ids: readonly Uint8Array[]): Array<Version | null> =>
  found.map((b, i) => (b === undefined ? null : decodeTxLoc(b, `tx index ${toHex(ids[i]!)}`)))

/** The state and tx-index entries a group writes, the last write of each key winning (as in its batch). */
function stagedWritesOf(entries: ReadonlyArray<{ block: Block }>, staged: readonly Prepared[]): StagedWrites {
  const out: StagedWrites = { state: new Map(), txs: new Map() }
  staged.forEach((p, b) => {
    for (const w of p.plan) out.state.set(slotOf(w.instance, w.key), w.value === null ? null : { value: w.value, version: { height: p.height, index: w.index } })
    entries[b]!.block.txs.forEach((tx, index) => out.txs.set(toHex(tx.id), { height: p.height, index }))
  })
  return out
}
