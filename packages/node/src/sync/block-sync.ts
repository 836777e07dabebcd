import { performance } from 'node:perf_hooks'
import { encodeCertificate, type Block } from '@vigil/common'
import type { LedgerStore } from '@vigil/storage'
import type { Logger } from '../log.js'
import type { Metrics } from '../metrics.js'
import type { PeerLinks } from '../p2p/links.js'
import {
  MAX_BLOCKS_PER_REQUEST, MAX_SYNC_RESPONSE_BYTES, SYNC_PROTOCOL, SYNC_RESPONSE_SOFT_BYTES,
  decodeBlocks, decodeStatus, decodeSyncRequest, encodeBlocks, encodeStatus, encodeSyncRequest, type RawBlock,
} from './protocol.js'
import { CommitPipeline } from '../ledger/commit-pipeline.js'
import type { BlockVerifier, PreparedBlock } from './verify-block.js'
import type { Misbehaviour } from '../misbehaviour.js'

const STATUS_TIMEOUT_MS = 2_000
const BLOCKS_TIMEOUT_MS = 15_000
/** Range requests in flight at once, spread over peers. */
const PIPELINE = 4
const BAN_MS = 60_000
const MAX_ATTEMPTS_PER_RANGE = 8
/** Accepted blocks whose writes may still run while the next one executes. */
const WRITES_IN_FLIGHT = 2

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
 * every block in order before committing it (signatures checked ahead on the signature pool). A peer that times out or serves a bad block is
 * banned for a while and its range goes to another peer; nothing it sent is written.
 */
export class BlockSync {
  #progress: SyncProgress | null = null
  readonly #banned = new Map<number, number>()

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
        if (req.kind === 'status') return encodeStatus(head.height, head.hash)
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

  #ban(peer: number, reason: string): void {
    this.#banned.set(peer, Date.now() + BAN_MS)
    this.log.warn({ peer, reason }, `banned vp${peer} from block sync for ${BAN_MS / 1000} s`)
    this.metrics.faults.inc({ replica: String(peer) })
  }

  /** Heights reported by the connected, non-banned peers. */
  async peerHeights(): Promise<Map<number, number>> {
    const peers = this.links.connectedPeers().filter((p) => this.#usable(p))
    const out = new Map<number, number>()
    await Promise.all(
      peers.map(async (p) => {
        try {
          const s = decodeStatus(await this.links.request(p, SYNC_PROTOCOL, encodeSyncRequest({ kind: 'status' }), { timeoutMs: STATUS_TIMEOUT_MS, maxResponseBytes: 128 }))
          out.set(p, s.height)
        } catch {
          // Unreachable or slow: not a source this round.
        }
      }),
    )
    return out
  }

  /**
   * Fetches, verifies and commits blocks until our head reaches what the peers report
   * (at least `minTarget`), or no peer can serve more. Returns the new height.
   */
  async run(minTarget = 0): Promise<number> {
    const start = this.store.head()!.height
    let heights = await this.peerHeights()
    let target = Math.max(minTarget, ...heights.values())
    if (target <= start) return start
    this.#progress = { from: start, to: target, current: start }
    this.metrics.syncTarget.set(target)
    const rate = new SyncRate(start, (cur, r) => this.log.info({ current: cur, target: this.#progress?.to, ...r }, 'block sync progress'))
    try {
      while (this.store.head()!.height < target) {
        const got = await this.#fetchWindow(heights, target, (block) => {
          this.#progress!.current = block.header.height
          rate.add(block.header.height, block.txs.length)
        })
        if (got.blocks === 0) {
          // Every source failed or ran dry: ask again who has what, and stop if nobody is ahead.
          heights = await this.peerHeights()
          const best = Math.max(0, ...heights.values())
          if (best <= this.store.head()!.height) break
          target = Math.max(target, best)
        } else if (this.store.head()!.height >= target) {
          // Others kept committing while we synced: look again before declaring victory.
          heights = await this.peerHeights()
          target = Math.max(target, ...heights.values())
        }
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
   */
  async #fetchWindow(heights: Map<number, number>, target: number, onDurable: (block: Block) => void): Promise<{ blocks: number }> {
    const base = this.store.head()!.height + 1
    const sources = [...heights].filter(([p, h]) => h >= base && this.#usable(p)).map(([p]) => p)
    // Counted as writes become durable, which the finally below waits for: read it after the call.
    const applied = { blocks: 0 }
    if (sources.length === 0) return applied
    const window: Array<{ count: number; got: Promise<{ peer: number; blocks: PreparedBlock[] } | null> }> = []
    let next = base
    let asked = 0
    const topUp = (): void => {
      for (; window.length < PIPELINE && next <= target; asked++) {
        const count = Math.min(MAX_BLOCKS_PER_REQUEST, target - next + 1)
        // Each answer is prepared on arrival: its signatures are checked on the pool while earlier ranges execute.
        window.push({ count, got: this.#fetchRange(next, count, sources, asked).then((got) => got && { peer: got.peer, blocks: this.verifier.prepareRange(got.blocks) }) })
        next += count
      }
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
      for (let range = window.shift(); range !== undefined; range = window.shift()) {
        topUp()
        const got = await range.got
        if (got === null) break
        for (const prepared of got.blocks) {
          try {
            const { sealed, cert } = await this.verifier.verify(prepared)
            await commits.push(sealed, cert, written(sealed.block))
          } catch (err) {
            // After a failed write of ours, the next block cannot link: not the sender's fault.
            if (!commits.failed) this.#ban(got.peer, `served a block that failed verification: ${(err as Error).message}`)
            return applied
          }
          if (commits.failed) break
        }
        // A short answer (the server's byte limit, or a peer just behind) leaves a gap before the
        // next range: stop here rather than blame that range's peer for blocks that do not link.
        if (commits.failed || got.blocks.length < range.count) break
      }
      return applied
    } finally {
      await Promise.allSettled(window.map((r) => r.got))
      // Every accepted block is written (or failed) before the caller looks at the head again.
      await commits.drain()
    }
  }

  async #fetchRange(from: number, count: number, sources: number[], offset: number): Promise<{ peer: number; blocks: RawBlock[] } | null> {
    for (let attempt = 0; attempt < Math.min(MAX_ATTEMPTS_PER_RANGE, sources.length * 2); attempt++) {
      const peer = sources[(offset + attempt) % sources.length]!
      if (!this.#usable(peer)) continue
      try {
        const bytes = await this.links.request(peer, SYNC_PROTOCOL, encodeSyncRequest({ kind: 'blocks', from, count }), {
          timeoutMs: BLOCKS_TIMEOUT_MS,
          maxResponseBytes: MAX_SYNC_RESPONSE_BYTES,
        })
        return { peer, blocks: decodeBlocks(bytes) }
      } catch (err) {
        this.#ban(peer, `block request ${from}+${count} failed: ${(err as Error).message}`)
      }
    }
    this.log.warn({ from, count }, `no peer served blocks ${from}..${from + count - 1}`)
    return null
  }
}
