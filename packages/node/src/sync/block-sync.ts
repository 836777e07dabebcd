import { performance } from 'node:perf_hooks'
import { encodeCertificate, equalBytes, faultTolerance, headerHash, toHex, type Block } from '@vigil/common'
import type { CheckpointCertificate } from '@vigil/consensus'
import type { LedgerStore } from '@vigil/storage'
import type { Logger } from '../log.js'
import type { Metrics } from '../metrics.js'
import type { PeerLinks } from '../p2p/links.js'
import {
  MAX_BLOCKS_PER_REQUEST, MAX_SYNC_RESPONSE_BYTES, SYNC_PROTOCOL, SYNC_RESPONSE_SOFT_BYTES,
  MAX_STATUS_BYTES, decodeBlocks, decodeStatus, decodeSyncRequest, encodeBlocks, encodeStatus, encodeSyncRequest, type RawBlock, type SyncStatus,
} from './protocol.js'
import { CommitPipeline } from '../ledger/commit-pipeline.js'
import type { BlockVerifier, Link, PreparedBlock } from './verify-block.js'
import type { Misbehaviour } from '../misbehaviour.js'

const STATUS_TIMEOUT_MS = 2_000
const BLOCKS_TIMEOUT_MS = 15_000
/** Range requests in flight at once, spread over peers. */
const PIPELINE = 4
const BAN_MS = 60_000
const MAX_ATTEMPTS_PER_RANGE = 8
/** Accepted blocks whose writes may still run while the next one executes. */
const WRITES_IN_FLIGHT = 2
/** Faults short of a bad block (an unproven height, an empty or short answer) before a peer is banned. */
const STRIKES_TO_BAN = 3
/** Windows in a row that store nothing before a sync gives up and lets consensus go on. */
const MAX_IDLE_WINDOWS = 3

/** Why a peer was blamed, the `reason` label of vigil_sync_faults_total. */
export type SyncFault = 'unproven-height' | 'empty-answer' | 'short-answer' | 'request-failed' | 'bad-block'

export interface SyncProgress {
  from: number
  to: number
  current: number
}

/** Sync rate for the log: since the start, logged at most once a second. */
class SyncRate {
  readonly #t0 = performance.now()
  #lastLog = this.#t0
  #txs = 0

  constructor(
    private readonly start: number,
    private readonly report: (current: number, rate: { blocksPerSec: number; txPerSec: number }) => void,
  ) {}

  add(height: number, txs: number): void {
    this.#txs += txs
    const now = performance.now()
    if (now - this.#lastLog < 1000) return
    this.#lastLog = now
    this.report(height, this.#rate(height, now))
  }

  #rate(height: number, now: number): { blocksPerSec: number; txPerSec: number } {
    const secs = (now - this.#t0) / 1000
    return { blocksPerSec: Math.round((height - this.start) / secs), txPerSec: Math.round(this.#txs / secs) }
  }

  overall(end: number): { seconds: number; blocksPerSec: number; txPerSec: number } {
    const now = performance.now()
    return { seconds: Number(((now - this.#t0) / 1000).toFixed(2)), ...this.#rate(end, now) }
  }
}

/**
 * Block sync (CometBFT's blocksync, as a plain loop): learns the peers' heights, fetches the
 * missing range in pipelined requests spread over several peers, verifies and re-executes
 * every block in order before committing it (signatures checked ahead on the signature pool).
 *
 * Nothing a peer says is taken on its word. A claimed height counts only with evidence: the
 * commit certificate of the claimed head, f+1 peers claiming at least as much, or a height
 * already proven. A block is stored only once its header is covered: by the next block's
 * certificate (its digest signs the parent's hash), a stable checkpoint's naming it, f+1 peers
 * naming it as their head, or, for a block without transactions, its own; the last block nothing
 * covers yet is left to consensus, which executes it from its certified batch. An empty
 * or short answer passes the range to the next peer and is a strike, a bad block or a failed
 * request bans the peer for a while; every fault is logged and counted by peer and reason.
 */
export class BlockSync {
  #progress: SyncProgress | null = null
  readonly #banned = new Map<number, number>()
  readonly #strikes = new Map<number, number>()
  /** The highest height a certificate (or f+1 peers) proved the chain has reached. */
  #proven = 0
  /** Head hashes that f+1 peers named at the last status round, by height. */
  #agreedHeads = new Map<number, Uint8Array>()
  /** Rotates the peer asked first, range after range and sync after sync. */
  #turn = 0

  constructor(
    private readonly links: PeerLinks,
    private readonly store: LedgerStore,
    private readonly verifier: BlockVerifier,
    private readonly onBlock: (block: Block) => void,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    /** TESTS ONLY (see misbehaviour.ts): a Byzantine harness answers sync requests itself. */
    private readonly serveSync?: Misbehaviour['serveSync'],
  ) {}

  /** Serves our blocks to peers. */
  register(): void {
    this.links.handle(
      SYNC_PROTOCOL,
      async (from, bytes) => {
        const req = decodeSyncRequest(bytes)
        const instead = await this.serveSync?.(from, req)
        if (instead !== undefined) return instead
        const head = this.store.head()!
        if (req.kind === 'status') {
          const cert = await this.store.getCertificate(head.height)
          return encodeStatus(head.height, head.hash, cert === null ? null : encodeCertificate(cert))
        }
        const blocks = await this.store.getBlockRange(req.from, req.count, SYNC_RESPONSE_SOFT_BYTES)
        return encodeBlocks(blocks.map(({ block, cert }) => ({ block, cert: cert === null ? null : encodeCertificate(cert) })))
      },
      { maxRequestBytes: 64 },
    )
  }

  progress(): SyncProgress | false {
    return this.#progress === null ? false : { ...this.#progress }
  }

  #usable(peer: number): boolean {
    const until = this.#banned.get(peer)
    return until === undefined || until < Date.now()
  }

  /** Logs and counts a fault of `peer`; a bad block, or the STRIKES_TO_BAN-th lesser fault, bans it. */
  #fault(peer: number, reason: SyncFault, detail: string): void {
    this.metrics.syncFaults.inc({ peer: String(peer), reason })
    this.metrics.faults.inc({ replica: String(peer) })
    const strikes = (this.#strikes.get(peer) ?? 0) + 1
    if (reason === 'bad-block' || reason === 'request-failed' || strikes >= STRIKES_TO_BAN) {
      this.#strikes.delete(peer)
      this.#banned.set(peer, Date.now() + BAN_MS)
      this.log.warn({ peer, reason, detail }, `banned vp${peer} from block sync for ${BAN_MS / 1000} s: ${detail}`)
    } else {
      this.#strikes.set(peer, strikes)
      this.log.warn({ peer, reason, detail, strikes }, `vp${peer} (block sync, strike ${strikes} of ${STRIKES_TO_BAN}): ${detail}`)
    }
  }

  /** Heights of the connected, non-banned peers, each backed by evidence; a claim without any is a fault. */
  async peerHeights(): Promise<Map<number, number>> {
    const peers = this.links.connectedPeers().filter((p) => this.#usable(p))
    const claims = new Map<number, SyncStatus>()
    await Promise.all(
      peers.map(async (p) => {
        try {
          claims.set(p, decodeStatus(await this.links.request(p, SYNC_PROTOCOL, encodeSyncRequest({ kind: 'status' }), { timeoutMs: STATUS_TIMEOUT_MS, maxResponseBytes: MAX_STATUS_BYTES })))
        } catch {
          // Unreachable or slow: not a source this round.
        }
      }),
    )
    return this.#evidenced(claims)
  }

  /** The claimed heights that have evidence, counting a fault for each that has none; records the head hashes f+1 peers agree on. */
  #evidenced(claims: Map<number, SyncStatus>): Map<number, number> {
    const f = faultTolerance(this.links.size)
    // f+1 peers claiming at least h include an honest one: the chain has reached h.
    const agreed = [...claims.values()].map((s) => s.height).sort((a, b) => b - a)[f] ?? 0
    // Likewise f+1 peers naming one head hash at one height name the true block there.
    const named = new Map<string, { height: number; hash: Uint8Array; peers: number }>()
    for (const s of claims.values()) {
      const key = `${s.height}:${toHex(s.hash)}`
      const e = named.get(key) ?? { height: s.height, hash: s.hash, peers: 0 }
      e.peers++
      named.set(key, e)
    }
    this.#agreedHeads = new Map([...named.values()].filter((e) => e.peers > f).map((e) => [e.height, e.hash]))
    this.#proven = Math.max(this.#proven, agreed, this.store.head()!.height)
    const out = new Map<number, number>()
    for (const [peer, s] of claims) {
      if (s.height > this.#proven) {
        try {
          this.verifier.checkClaim(s.height, s.cert)
          this.#proven = s.height
        } catch (err) {
          this.#fault(peer, 'unproven-height', `claimed height ${s.height}, above the proven ${this.#proven}, without evidence (${(err as Error).message})`)
          continue
        }
      }
      out.set(peer, s.height)
    }
    return out
  }

  /**
   * Fetches, verifies and commits blocks until our head reaches what the peers report (at least
   * `minTarget`), but for a last block nothing covers yet, or until no peer can serve more.
   * `checkpoint` (a stable checkpoint certificate, checked here) covers the block it names.
   * Returns the new height.
   */
  async run(minTarget = 0, checkpoint: CheckpointCertificate | null = null): Promise<number> {
    const start = this.store.head()!.height
    if (checkpoint !== null) this.verifier.checkCheckpoint(checkpoint)
    let heights = await this.peerHeights()
    let target = Math.max(minTarget, checkpoint?.seq ?? 0, ...heights.values())
    if (target <= start) return start
    this.#progress = { from: start, to: target, current: start }
    this.metrics.syncTarget.set(target)
    const rate = new SyncRate(start, (cur, r) => this.log.info({ current: cur, target: this.#progress?.to, ...r }, 'block sync progress'))
    let idle = 0
    try {
      for (;;) {
        const got = await this.#fetchWindow(heights, target, checkpoint, (block) => {
          this.#progress!.current = block.header.height
          rate.add(block.header.height, block.txs.length)
        })
        idle = got.blocks === 0 ? idle + 1 : 0
        if (idle >= MAX_IDLE_WINDOWS) {
          this.log.warn({ height: this.store.head()!.height, target }, `block sync stored nothing in ${idle} rounds; consensus goes on`)
          break
        }
        // Others kept committing while we synced, or a source failed: ask again who has what.
        heights = await this.peerHeights()
        const best = Math.max(0, ...heights.values())
        // The block after our head, when it is the last anyone has, waits for consensus or for a block to cover it.
        if (best <= this.store.head()!.height + (got.tip ? 1 : 0)) break
        target = Math.max(target, best)
        this.#progress.to = target
        this.metrics.syncTarget.set(target)
      }
    } finally {
      const end = this.store.head()!.height
      this.log.info({ from: start, to: end, blocks: end - start, ...rate.overall(end) }, 'block sync finished')
      this.#progress = null
      this.metrics.syncTarget.set(0)
    }
    return this.store.head()!.height
  }

  /**
   * Fetches and applies blocks from our head up to `target` through a sliding window: up to
   * PIPELINE ranges are in flight from different peers while the oldest one is applied, so
   * the next blocks have arrived and had their signatures checked by the time they are needed.
   * `tip` says it stopped at a verified block that nothing covers yet.
   */
  async #fetchWindow(heights: Map<number, number>, target: number, checkpoint: CheckpointCertificate | null, onDurable: (block: Block) => void): Promise<{ blocks: number; tip: boolean }> {
    const base = this.store.head()!.height + 1
    const sources = [...heights].filter(([p, h]) => h >= base && this.#usable(p)).map(([p]) => p)
    // Counted as writes become durable, which the finally below waits for: read it after the call.
    const applied = { blocks: 0, tip: false }
    if (sources.length === 0) return applied
    const window: Array<{ count: number; got: Promise<Array<{ peer: number; blocks: PreparedBlock[] }>> }> = []
    let next = base
    const topUp = (): void => {
      for (; window.length < PIPELINE && next <= target; ) {
        const count = Math.min(MAX_BLOCKS_PER_REQUEST, target - next + 1)
        // Each answer is prepared on arrival: its signatures are checked on the pool while earlier ranges execute.
        window.push({ count, got: this.#fetchRange(next, count, sources, heights).then((pieces) => pieces.map((p) => ({ peer: p.peer, blocks: this.verifier.prepareRange(p.blocks) }))) })
        next += count
      }
    }
    // Fetched blocks in order, each with the peer that served it; `linked` turns false at a range
    // served short, after which nothing fetched links (a gap).
    const queue: Array<{ peer: number; block: PreparedBlock }> = []
    let linked = true
    const pull = async (): Promise<boolean> => {
      const range = linked ? window.shift() : undefined
      if (range === undefined) return (linked = false)
      topUp()
      let n = 0
      for (const piece of await range.got) {
        for (const block of piece.blocks) queue.push({ peer: piece.peer, block })
        n += piece.blocks.length
      }
      if (n < range.count) linked = false
      return n > 0
    }
    /** The i-th queued block, fetching further ranges as needed; null past the last one fetched. */
    const at = async (i: number): Promise<{ peer: number; block: PreparedBlock } | null> => {
      while (queue.length <= i) if (!(await pull())) return null
      return queue[i]!
    }
    // The next block is verified and executed while the previous ones are written (the fsync
    // overlaps execution). A failed write ends the sync with its error; the sender is not blamed.
    const commits = new CommitPipeline(this.store, WRITES_IN_FLIGHT)
    const written = (block: Block) => (): void => {
      this.metrics.syncedBlocks.inc()
      this.onBlock(block)
      applied.blocks++
      onDurable(block)
    }
    try {
      topUp()
      for (let first = await at(0); first !== null; first = await at(0)) {
        let verified
        try {
          verified = await this.verifier.verify(first.block)
        } catch (err) {
          // After a failed write of ours, the next block cannot link: not the sender's fault.
          if (!commits.failed) this.#fault(first.peer, 'bad-block', `served a block that failed verification: ${(err as Error).message}`)
          return applied
        }
        const cover = await this.#cover(verified.sealed.block, first.peer, checkpoint, at)
        if (cover !== 'covered') {
          applied.tip = cover === 'tip'
          return applied
        }
        await commits.push(verified.sealed, verified.cert, written(verified.sealed.block))
        queue.shift()
        if (commits.failed) break
      }
      return applied
    } finally {
      await Promise.allSettled(window.map((r) => r.got))
      // Every accepted block is written (or failed) before the caller looks at the head again.
      await commits.drain()
    }
  }

  /**
   * Whether a verified block may be stored: `checkpoint` names its hash, or the blocks after it
   * link back to it (through null batches, whose certificates sign no parent) up to one whose
   * certificate signs the link, or f+1 peers named its hash as their head, or it is the last
   * block fetched and has no transactions. 'tip'
   * when the fetched blocks end first; 'refused' when a link fails (its source is banned when the
   * certificates say who lied).
   */
  async #cover(
    block: Block,
    peer: number,
    checkpoint: CheckpointCertificate | null,
    at: (i: number) => Promise<{ peer: number; block: PreparedBlock } | null>,
  ): Promise<'covered' | 'tip' | 'refused'> {
    const { header } = block
    let want = headerHash(header)
    if (checkpoint !== null && checkpoint.seq === header.height) {
      if (equalBytes(checkpoint.blockHash, want)) return 'covered'
      this.#fault(peer, 'bad-block', `served block ${header.height}, which is not the one the stable checkpoint names`)
      return 'refused'
    }
    const named = this.#agreedHeads.get(header.height)
    if (named !== undefined && equalBytes(named, want)) return 'covered'
    for (let i = 1; ; i++) {
      const next = await at(i)
      // A block without transactions is all certified batch (time, parent, no transactions) on our own
      // verified state: nothing in its header is the peer's choice. (An idle network's last block is one.)
      if (next === null) return i === 1 && block.txs.length === 0 ? 'covered' : 'tip'
      let link: Link
      try {
        link = await this.verifier.linkOf(next.block)
        if (link.height !== header.height + i) throw new Error(`block ${link.height} in place of ${header.height + i}`)
      } catch (err) {
        this.#fault(next.peer, 'bad-block', `served a block that failed verification: ${(err as Error).message}`)
        return 'refused'
      }
      if (!equalBytes(link.prevHash, want)) {
        // A certified link names the true parent, so the parent served was forged; a null batch's link is signed by nobody.
        if (link.certified) {
          const liar = i === 1 ? peer : (await at(i - 1))!.peer
          this.#fault(liar, 'bad-block', `served block ${link.height - 1}, which the certified block ${link.height} does not link to`)
        }
        return 'refused'
      }
      if (link.certified) return 'covered'
      want = link.hash
    }
  }

  /**
   * Blocks from..from+count-1, from one peer or several: each is asked only for blocks it
   * proved it has, and an empty or short answer passes the rest to the next peer. Returns what
   * was served, in order (fewer blocks than asked when no peer served the rest).
   */
  async #fetchRange(from: number, count: number, sources: number[], heights: Map<number, number>): Promise<Array<{ peer: number; blocks: RawBlock[] }>> {
    const pieces: Array<{ peer: number; blocks: RawBlock[] }> = []
    const end = from + count
    let next = from
    /** The last answer that stopped short, to judge once the next block's size is known. */
    let short: { peer: number; bytes: number } | null = null
    for (let attempt = 0; next < end && attempt < Math.min(MAX_ATTEMPTS_PER_RANGE, sources.length * 2); attempt++) {
      const peer = sources[this.#turn++ % sources.length]!
      const want = Math.min(end, heights.get(peer)! + 1) - next
      if (!this.#usable(peer) || want <= 0) continue
      let blocks: RawBlock[]
      try {
        const bytes = await this.links.request(peer, SYNC_PROTOCOL, encodeSyncRequest({ kind: 'blocks', from: next, count: want }), {
          timeoutMs: BLOCKS_TIMEOUT_MS,
          maxResponseBytes: MAX_SYNC_RESPONSE_BYTES,
        })
        blocks = decodeBlocks(bytes).slice(0, want)
      } catch (err) {
        this.#fault(peer, 'request-failed', `block request ${next}+${want} failed: ${(err as Error).message}`)
        continue
      }
      if (blocks.length === 0) {
        this.#fault(peer, 'empty-answer', `claimed height ${heights.get(peer)} but sent no blocks from ${next}`)
        continue
      }
      // An honest server stops short only when the next block would pass its byte limit.
      if (short !== null && short.bytes + blocks[0]!.block.byteLength <= SYNC_RESPONSE_SOFT_BYTES) {
        this.#fault(short.peer, 'short-answer', `sent ${short.bytes} bytes of blocks, short of what it claimed and of the byte limit`)
      }
      const bytes = blocks.reduce((a, b) => a + b.block.byteLength, 0)
      short = blocks.length < want ? { peer, bytes } : null
      pieces.push({ peer, blocks })
      next += blocks.length
    }
    if (next < end) this.log.warn({ from: next, count: end - next }, `no peer served blocks ${next}..${end - 1}`)
    return pieces
  }
}
