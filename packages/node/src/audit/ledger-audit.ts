import { mkdtempSync, rmSync, statfsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import {
  encodeCertificate, equalBytes, quorumSize, toHex, validatorsHash, verifyCommitCertificate,
  type BlockHeader, type CommitCertificate, type Genesis,
} from '@vigil/common'
import { LedgerStore, emptyStateRoot, type OpenOptions } from '@vigil/storage'
import { CommitPipeline } from '../ledger/commit-pipeline.js'
import { BlockExecutor } from '../ledger/executor.js'
import { genesisBlock } from '../ledger/genesis-block.js'
import type { RawBlock } from '../sync/protocol.js'
import { BlockVerifier, type PreparedBlock } from '../sync/verify-block.js'

/**
 * Full audit of a ledger: every block is re-verified and re-executed into a fresh store with
 * the same BlockVerifier block sync uses (hash chain, chain and validator set, transactions
 * root, batch digest, a quorum of genesis signatures on the certificate, re-execution to the same
 * header and body); for a local store, storage's verifyStore then checks what only the
 * database holds (indexes, history, head record, world state).
 */
export interface Problem {
  height?: number
  key?: string
  reason: string
}

export interface AuditReport {
  ok: boolean
  height: number
  blocks: number
  txs: number
  stateRoot: string | null
  /** The first problem of each kind found, lowest height first. */
  problems: Problem[]
}

/** Where blocks come from: a local store or a peer's API. */
export interface BlockSource {
  head(): Promise<number>
  /** Blocks from..to in order, with their certificates. */
  range(from: number, to: number): AsyncIterable<RawBlock>
}

export type Progress = (height: number, head: number, txs: number) => void

export function storeSource(store: LedgerStore): BlockSource {
  return {
    head: async () => store.head()?.height ?? -1,
    async *range(from, to) {
      for (let h = from; h <= to; h++) {
        const [block, cert] = await Promise.all([store.getBlockBytes(h), store.getCertificate(h)])
        if (block === null) throw new AuditFailure({ height: h, reason: `block ${h} is missing` })
        yield { block, cert: cert === null ? null : encodeCertificate(cert) }
      }
    },
  }
}

export class AuditFailure extends Error {
  constructor(readonly problem: Problem) {
    super(problem.reason)
  }
}

/** Certificate signatures: a quorum of distinct genesis validators over (view, seq, digest). */
export function certificateChecker(g: Genesis): (height: number, cert: CommitCertificate, header: BlockHeader) => void {
  const domain = { chainId: g.chainId, validatorsHash: validatorsHash(g.validators) }
  const keys = g.validators.map((v) => v.publicKey)
  const quorum = quorumSize(g.validators.length)
  return (_height, cert) => {
    verifyCommitCertificate(cert, domain, keys, quorum)
  }
}

/** A store holding only `g`'s genesis block, in `dir`. */
export async function freshStore(dir: string, g: Genesis, opts: OpenOptions = {}): Promise<LedgerStore> {
  const store = await LedgerStore.open(dir, opts)
  await store.initGenesis(genesisBlock(g, emptyStateRoot()))
  return store
}

/** Blocks decoded ahead of execution, their signatures checked meanwhile on the pool: enough to keep both cores busy, bounded in memory. */
const LOOKAHEAD_TXS = 2_048
const LOOKAHEAD_BLOCKS = 32

/**
 * Re-verifies and re-executes blocks head+1..to of `source` onto `into` (a store whose chain is
 * a prefix of the source's), committing each. Stops at the first block that fails, naming it.
 * Blocks are prepared (decoded, signatures sent to the pool) up to LOOKAHEAD ahead of the one
 * being executed; a failure of the source is reported after the blocks before it are checked.
 */
export async function replayInto(into: LedgerStore, g: Genesis, source: BlockSource, to: number, onProgress?: Progress): Promise<{ problem: Problem | null; txs: number }> {
  const verifier = new BlockVerifier(g, into, new BlockExecutor(into, g))
  // The next block is verified and executed while the previous ones are written.
  const commits = new CommitPipeline(into)
  const from = into.head()!.height
  const ahead: PreparedBlock[] = []
  let aheadTxs = 0
  let txs = 0
  const applyOldest = async (): Promise<void> => {
    const next = ahead.shift()!
    aheadTxs -= txCount(next)
    const { sealed, cert } = await verifier.verify(next)
    const { block } = sealed
    await commits.push(sealed, cert, () => {
      txs += block.txs.length
      onProgress?.(block.header.height, to, txs)
    })
  }
  try {
    let linked = false
    let sourceFailure: unknown = null
    try {
      for await (const raw of source.range(from, to)) {
        // The source's block `from` must be the one we build on (for 0: this genesis file's block).
        if (!linked) {
          linked = true
          if (!equalBytes(raw.block, (await into.getBlockBytes(from))!)) return { problem: { height: from, reason: from === 0 ? 'block 0 is not the genesis block of this genesis file' : `block ${from} differs from the verified copy` }, txs }
          continue
        }
        const p = verifier.prepare(raw)
        ahead.push(p)
        aheadTxs += txCount(p)
        while (aheadTxs > LOOKAHEAD_TXS || ahead.length > LOOKAHEAD_BLOCKS) await applyOldest()
      }
    } catch (err) {
      sourceFailure = err
    }
    while (ahead.length > 0) await applyOldest()
    await commits.drain()
    if (sourceFailure !== null) throw sourceFailure
  } catch (err) {
    // The blocks before the failing one are written before it is named from the head.
    await commits.drain().catch(() => undefined)
    if (err instanceof AuditFailure) return { problem: err.problem, txs }
    return { problem: { height: into.head()!.height + 1, reason: (err as Error).message }, txs }
  }
  return { problem: null, txs }
}

const txCount = (p: PreparedBlock): number => (p.decoded instanceof Error ? 0 : p.decoded.block.txs.length)

/**
 * Where replays put their scratch store: on tmpfs when there is room, where LevelDB's synced
 * writes cost nothing (the copy is thrown away, durability buys nothing).
 */
function scratchBase(): string {
  try {
    const fs = statfsSync(SHM)
    if (fs.bavail * fs.bsize >= SHM_MIN_FREE) return SHM
  } catch {
    // No tmpfs here.
  }
  return tmpdir()
}
const SHM = '/dev/shm'
const SHM_MIN_FREE = 2 * 1024 ** 3

/** replayInto a fresh store in a temporary directory (removed afterwards), which keeps only what execution reads. */
export async function replayLedger(g: Genesis, source: BlockSource, to: number, onProgress?: Progress): Promise<{ problem: Problem | null; txs: number; stateRoot: Uint8Array }> {
  const dir = mkdtempSync(join(scratchBase(), 'vigil-audit-'))
  const fresh = await freshStore(dir, g, { replayOnly: true })
  try {
    const r = await replayInto(fresh, g, source, to, onProgress)
    return { ...r, stateRoot: fresh.head()!.stateRoot }
  } finally {
    await fresh.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Blocks in flight to the replay worker: bounds memory on long chains. Above the replay's lookahead, or each side waits for the other. */
const WORKER_WINDOW = 2 * LOOKAHEAD_BLOCKS

/** replayLedger on a worker thread, fed the store's blocks from this thread. */
async function replayInWorker(g: Genesis, store: LedgerStore, to: number, onProgress?: Progress): Promise<Awaited<ReturnType<typeof replayLedger>>> {
  const worker = new Worker(new URL('./replay-worker.js', import.meta.url), { workerData: { genesis: g, to } })
  let acked = 0
  let release: (() => void) | null = null
  let finished = false
  const done = new Promise<Awaited<ReturnType<typeof replayLedger>>>((resolve, reject) => {
    worker.on('message', (m: { ack: number; txs: number } | { done: Awaited<ReturnType<typeof replayLedger>> }) => {
      if ('ack' in m) {
        acked = m.ack
        onProgress?.(m.ack, to, m.txs)
      } else {
        finished = true
        resolve(m.done)
      }
      release?.()
    })
    worker.once('error', reject)
    worker.once('exit', (code) => reject(new Error(`audit worker exited with code ${code}`)))
  })
  let sent = 0
  let missing: Problem | null = null
  try {
    for await (const raw of storeSource(store).range(0, to)) {
      while (sent - acked > WORKER_WINDOW && !finished) await new Promise<void>((r) => (release = r))
      if (finished) break
      worker.postMessage(raw)
      sent++
    }
  } catch (err) {
    if (!(err instanceof AuditFailure)) throw err
    missing = err.problem
  }
  worker.postMessage({ end: true })
  try {
    const r = await done
    return missing !== null && r.problem === null ? { ...r, problem: missing } : r
  } finally {
    await worker.terminate()
  }
}

/**
 * Offline audit of an open store (a stopped peer's data directory). Re-execution runs on a
 * worker thread while this one runs verifyStore, so the two use both cores. The replay checks
 * every transaction and certificate signature of the stored blocks (the same bytes, read from
 * the same store) and compares each rebuilt block with the stored bytes, so verifyStore does
 * not check signatures, state roots or canonical encoding a second time.
 */
export async function auditStore(store: LedgerStore, g: Genesis, onProgress?: Progress): Promise<AuditReport> {
  const head = store.head()
  if (head === null) return { ok: false, height: -1, blocks: 0, txs: 0, stateRoot: null, problems: [{ key: 'head', reason: 'the store holds no chain' }] }
  const problems: Problem[] = []
  const [replay, report] = await Promise.all([replayInWorker(g, store, head.height, onProgress), store.verifyStore({ txSignatures: false, replayed: true })])
  if (replay.problem !== null) problems.push(replay.problem)
  else if (!equalBytes(replay.stateRoot, head.stateRoot)) problems.push({ height: head.height, key: 'head', reason: `head state root ${toHex(head.stateRoot)}, re-execution gives ${toHex(replay.stateRoot)}` })
  if (!report.ok) problems.push({ height: report.height, key: report.key, reason: report.reason })
  const damage = store.damage()
  if (damage !== null && problems.length === 0) problems.push({ key: 'world state', reason: damage })
  problems.sort((a, b) => (a.height ?? Infinity) - (b.height ?? Infinity))
  return { ok: problems.length === 0, height: head.height, blocks: head.height + 1, txs: replay.txs, stateRoot: toHex(head.stateRoot), problems }
}
