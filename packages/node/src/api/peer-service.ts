import { decodeTx, fromHex, headerHash, quorumSize, toHex, type Tx } from '@vigil/common'
import type { VigilNode, CommittedTxView } from '../daemon.js'
import { QueryError, query } from '../execution/index.js'
import { certifiedProof } from '../audit/certified-proof.js'
import { stateReaderOf } from '../ledger/executor.js'
import { blockJson, resultJson, txJson, valueJson } from './json.js'
import { ApiError, type LedgerService, type Submitted } from './service.js'

/** How long a proof request waits for the block that certifies the head's state. */
const PROOF_WAIT_MS = 3000

/** The HTTP API's view of a running peer. */
export class PeerService implements LedgerService {
  constructor(private readonly node: VigilNode) {}

  private head() {
    const h = this.node.store.head()
    if (h === null) throw new ApiError(503, 'NOT_READY', 'store not initialised')
    return h
  }

  /** State-derived answers wait while the peer repairs a damaged store. */
  private sound(): void {
    const why = this.node.repairing
    if (why !== null) throw new ApiError(503, 'REPAIRING', `this peer found its store damaged (${why}) and is repairing it from its peers; ask another peer or retry`)
  }

  async status() {
    const n = this.node
    const head = this.head()
    const cs = n.driver.status
    const connected = new Set(n.links.connectedPeers())
    return {
      chainId: n.genesis.chainId,
      node: { index: n.cfg.index, peerId: n.genesis.validators[n.cfg.index]!.peerId },
      height: head.height,
      lastBlockHash: toHex(head.hash),
      stateRoot: toHex(head.stateRoot),
      view: cs.view,
      primary: cs.primary,
      viewChanging: cs.viewChanging,
      // Bounded bookkeeping: the log is collected at each stable checkpoint, the pool as batches commit.
      consensus: { lowWatermark: cs.lowWatermark, stableCheckpoint: cs.lastStableCheckpoint, logEntries: cs.logSize, pendingRequests: cs.pendingRequests },
      syncing: n.syncProgress(),
      halted: n.halted,
      mempool: n.mempool.size,
      peers: n.genesis.validators.filter((v) => v.index !== n.cfg.index).map((v) => ({ index: v.index, peerId: v.peerId, connected: connected.has(v.index) })),
    }
  }

  readiness() {
    const n = this.node
    if (n.halted !== null) return { ready: false, reason: `halted: ${n.halted}` }
    if (n.repairing !== null) return { ready: false, reason: `repairing damaged store: ${n.repairing}` }
    if (n.syncProgress() !== false) return { ready: false, reason: 'syncing blocks from peers' }
    // Also before block sync starts (waiting for peers) and after it ends, until consensus resumes.
    if (n.catchingUp) return { ready: false, reason: 'catching up with peers' }
    const quorum = quorumSize(n.genesis.validators.length)
    const reachable = n.links.connectedPeers().length + 1
    if (reachable < quorum) return { ready: false, reason: `connected to ${reachable} of ${quorum} validators needed for a quorum` }
    return { ready: true, reason: 'ok' }
  }

  async submit(list: readonly Uint8Array[], waitMs: number | null): Promise<Submitted[]> {
    const decoded = list.map((bytes): Tx | Error => {
      try {
        return decodeTx(bytes)
      } catch (err) {
        return err as Error
      }
    })
    const txs = decoded.filter((d): d is Tx => !(d instanceof Error))
    const admitted = await this.node.submit(txs)
    let j = 0
    return decoded.map((d): Submitted => {
      if (d instanceof Error) return { error: d }
      const r = admitted[j++]!
      if (r instanceof Error) return { error: r }
      if (r === 'full') return { error: new ApiError(503, 'MEMPOOL_FULL', `mempool holds ${this.node.mempool.maxTxs} transactions; retry later`) }
      const txId = toHex(d.id)
      return { txId, commit: waitMs === null ? null : this.#waitForCommit(txId, waitMs, r === 'added') }
    })
  }

  /**
   * Registered in the same turn as admission returned: a just-added transaction's block cannot
   * have committed yet, since committing takes I/O callbacks that run only after this turn.
   * A known or committed one may be done already, so the store is asked after registering.
   */
  #waitForCommit(txId: string, timeoutMs: number, added: boolean): Promise<CommittedTxView | null> {
    const waiting = this.node.waiters.wait(txId, timeoutMs)
    if (!added) {
      void this.node.store.getTx(fromHex(txId)).then((r) => {
        if (r !== null) this.node.waiters.resolve(txId, { txId, height: r.height, index: r.index, result: resultJson(r.result) })
      })
    }
    return waiting
  }

  async tx(txId: string) {
    const r = await this.node.store.getTx(fromHex(txId))
    if (r === null) return null
    return { txId, height: r.height, index: r.index, tx: txJson(r.tx), result: resultJson(r.result) }
  }

  async block(height: number) {
    const b = await this.node.store.getBlock(height)
    if (b === null) return null
    return blockJson(b, headerHash(b.header), await this.node.store.getCertificate(height))
  }

  async blocks(from: number, limit: number) {
    const to = Math.min(this.head().height, from + limit - 1)
    const out = []
    for (let h = from; h <= to; h++) out.push(await this.block(h))
    return out
  }

  async state(instance: string, key: string, withProof: boolean) {
    this.sound()
    const height = this.head().height
    if (withProof) {
      const p = await certifiedProof(this.node.store, this.node.genesis, instance, key, PROOF_WAIT_MS)
      if (p === null) throw new ApiError(503, 'NOT_CERTIFIED', `the state at height ${height} is not certified by a following block yet; retry shortly`)
      return p
    }
    const s = await this.node.store.getState(instance, key)
    return s === null ? null : { value: valueJson(s.value), version: s.version, height }
  }

  async history(instance: string, key: string, limit: number, afterHeight: number | undefined) {
    this.sound()
    const versions = await this.node.store.history(instance, key, { limit, afterHeight })
    return {
      instance,
      key,
      versions: await Promise.all(
        versions.map(async (v) => {
          const [tx, header] = await Promise.all([this.node.store.getTx(v.txId), this.node.store.getHeader(v.height)])
          return {
            height: v.height,
            index: v.index,
            txId: toHex(v.txId),
            signer: tx === null ? null : toHex(tx.tx.body.signer),
            time: header === null ? null : new Date(header.time).toISOString(),
            value: valueJson(v.value),
            deleted: v.value === null,
          }
        }),
      ),
    }
  }

  async query(instance: string, method: string, args: Record<string, unknown>) {
    this.sound()
    const height = this.head().height
    try {
      return { value: await query(instance, method, args, stateReaderOf(this.node.store)), height }
    } catch (err) {
      if (err instanceof QueryError) throw new ApiError(err.status, err.code, err.message)
      throw err
    }
  }

  async metrics() {
    const r = this.node.metrics.registry
    return { contentType: r.contentType, body: await r.metrics() }
  }
}
