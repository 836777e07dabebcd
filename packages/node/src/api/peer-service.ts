import { decodeTx, fromHex, headerHash, quorumSize, toHex } from '@vigil/common'
import type { VigilNode, CommittedTxView } from '../daemon.js'
import { QueryError, query } from '../execution/index.js'
import { certifiedProof } from '../audit/certified-proof.js'
import { stateReaderOf } from '../ledger/executor.js'
import { blockJson, resultJson, txJson, valueJson } from './json.js'
import { ApiError, type LedgerService } from './service.js'

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
    const quorum = quorumSize(n.genesis.validators.length)
    const reachable = n.links.connectedPeers().length + 1
    if (reachable < quorum) return { ready: false, reason: `connected to ${reachable} of ${quorum} validators needed for a quorum` }
    return { ready: true, reason: 'ok' }
  }

  async submit(bytes: Uint8Array) {
    const tx = decodeTx(bytes)
    const r = await this.node.submit(tx)
    if (r === 'full') throw new ApiError(503, 'MEMPOOL_FULL', `mempool holds ${this.node.mempool.maxTxs} transactions; retry later`)
    return { txId: toHex(tx.id) }
  }

  async waitForCommit(txId: string, timeoutMs: number): Promise<CommittedTxView | null> {
    // Register first, then look in the store, so a commit in between is not missed.
    const waiting = this.node.waiters.wait(txId, timeoutMs)
    const done = await this.committed(txId)
    if (done !== null) this.node.waiters.resolve(txId, done)
    return waiting
  }

  private async committed(txId: string): Promise<CommittedTxView | null> {
    const r = await this.node.store.getTx(fromHex(txId))
    return r === null ? null : { txId, height: r.height, index: r.index, result: resultJson(r.result) }
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
