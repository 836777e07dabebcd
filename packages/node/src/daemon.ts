import './p2p/index.js'
import { performance } from 'node:perf_hooks'
import {
  LEDGER_PROTOCOL, MAX_CONSENSUS_FRAME_BYTES, Signer, ValidationError, checkTxChain, checkTxVersion, decodeTx, equalBytes, genesisHash, headerHash, keyOf, toHex, validatorsHash, verifySignature, verifyTx,
  type Block, type Tx,
} from '@vigil/common'
import { Replica, decodeMessage, type CheckpointCertificate, type Delivery, type Input, type Request, type StateTransferRequest } from '@vigil/consensus'
import { LedgerStore, emptyStateRoot } from '@vigil/storage'
import type { FastifyInstance } from 'fastify'
import { startApi } from './api/server.js'
import { checkStore, describeProblem, locateDamage, rebuildStore } from './audit/store-repair.js'
import { PeerService } from './api/peer-service.js'
import type { NodeConfig } from './config.js'
import { ConsensusDriver } from './consensus/driver.js'
import { CommitPipeline } from './ledger/commit-pipeline.js'
import { BlockExecutor } from './ledger/executor.js'
import { CommitWaiters } from './ledger/commit-waiters.js'
import { genesisBlock } from './ledger/genesis-block.js'
import type { Logger } from './log.js'
import { GOSSIP_MAX_FRAME_BYTES, GossipBatcher, decodeGossip, offerPending } from './mempool/gossip.js'
import { Mempool } from './mempool/mempool.js'
import { RecentIds } from './mempool/recent.js'
import { sharedSigPool, txCheck } from './crypto/index.js'
import { Metrics } from './metrics.js'
import type { Misbehaviour } from './misbehaviour.js'
import type { Channel } from './p2p/channel.js'
import { PeerLinks } from './p2p/links.js'
import { resultJson } from './api/json.js'
import { BlockSync } from './sync/block-sync.js'
import { BlockVerifier } from './sync/verify-block.js'

export const PBFT_PROTOCOL = '/vigil/pbft/2'
export const MEMPOOL_PROTOCOL = '/vigil/mempool/2'
/** Genesis refuses parameters under which a PBFT message could exceed it (maxConsensusMessageBytes). */
const MAX_PBFT_FRAME_BYTES = MAX_CONSENSUS_FRAME_BYTES
const LAG_PROBE_MS = 1000
/** Committed ids remembered in memory for duplicate checks (about 20 MB). */
const RECENT_IDS_MAX = 200_000
const CHECKED_IDS_MAX = 50_000
/**
 * Behind by this many blocks, our head unmoved, on two probes in a row triggers a sync. One is
 * enough: a head that did not move for two probes is stuck, not slow, and block sync leaves a
 * last block without cover to consensus, which may not bring it (its batch gone from the logs of
 * the peers that help us); a later sync stores it once a block or f+1 peers cover it.
 */
const LAG_BLOCKS = 1
/** Block writes consensus runs ahead of: block h is written while batch h+1 is agreed and executed. */
const COMMITS_IN_FLIGHT = 1

export interface CommittedTxView {
  txId: string
  height: number
  index: number
  result: ReturnType<typeof resultJson>
}

/**
 * One validating peer: LevelDB store, libp2p links, the PBFT core behind its driver,
 * the executor, the mempool and the HTTP API, started and stopped in that order.
 */
export class VigilNode {
  readonly metrics = new Metrics()
  readonly mempool: Mempool
  readonly waiters = new CommitWaiters<CommittedTxView>()
  readonly #recent = new RecentIds(RECENT_IDS_MAX)
  readonly #sigs = sharedSigPool()
  /**
   * Transactions whose signatures this peer checked (see #verify), so neither a later copy nor
   * execution checks again. Keyed by id and signature: the id covers the body only, so a primary
   * could pair a checked id with other signature bytes.
   */
  readonly #checked = new RecentIds(CHECKED_IDS_MAX)
  store!: LedgerStore
  links!: PeerLinks
  driver!: ConsensusDriver
  executor!: BlockExecutor
  api!: { app: FastifyInstance; url: string }
  halted: string | null = null
  /** Why state is withheld: the store was found damaged and is being repaired (null when sound). */
  repairing: string | null = null
  /** The height a repaired peer must reach again before it serves state. */
  #repairTarget = -1
  #gossip!: GossipBatcher
  #pbft!: Channel
  #lagProbe: NodeJS.Timeout | undefined
  sync!: BlockSync
  /** Blocks consensus executed whose batches are still being written: the next batch goes on meanwhile. */
  #commits!: CommitPipeline
  #catchingUp: Promise<void> | null = null
  #firstSync = true
  #behind = 0
  /** Our head at the last lag probe. */
  #probedHeight = -1

  constructor(
    readonly cfg: NodeConfig,
    readonly log: Logger,
    readonly opts: NodeOptions = {},
  ) {
    this.mempool = new Mempool(cfg.mempool.maxTxs)
  }

  get genesis() {
    return this.cfg.genesisDoc
  }

  async start(): Promise<void> {
    const g = this.genesis
    // An older chain stays auditable (vigil verify reads it under its own rules) but is never extended.
    if (g.protocol !== LEDGER_PROTOCOL) {
      throw new ValidationError(
        `genesis ${this.cfg.genesis}: made under ledger protocol ${g.protocol}, whose certificates do not bind transaction signatures; this release runs protocol ${LEDGER_PROTOCOL} only (vigil verify --home still audits that chain; start a new chain for new records)`,
      )
    }
    this.store = await this.#openCheckedStore()
    await this.#ensureGenesis()
    this.executor = new BlockExecutor(this.store, g)
    this.#commits = new CommitPipeline(this.store, COMMITS_IN_FLIGHT, (err) => this.#halt(err))

    const validators = g.validators.map((v) => ({ ...v, addresses: this.cfg.peers[String(v.index)] ?? v.addresses }))
    this.links = new PeerLinks({ keyPair: this.cfg.keyPair, listen: this.cfg.listen, validators, self: this.cfg.index, logger: this.log.child({ room: 'p2p' }) })
    this.#pbft = this.links.channel(PBFT_PROTOCOL, { maxFrameBytes: MAX_PBFT_FRAME_BYTES, queueMax: 8192 })
    const mempoolCh = this.links.channel(MEMPOOL_PROTOCOL, { maxFrameBytes: GOSSIP_MAX_FRAME_BYTES, queueMax: 1024 })
    this.#gossip = new GossipBatcher((frame) => mempoolCh.broadcast(frame))
    this.links.onPeer((peer, up) => {
      this.metrics.peersConnected.set(this.links.connectedPeers().length)
      if (up) this.#offerPending(peer, mempoolCh)
    })

    const signer = new Signer(this.cfg.keyPair)
    const replica = new Replica(
      {
        id: this.cfg.index,
        n: g.validators.length,
        params: g.consensus,
        domain: { chainId: g.chainId, validatorsHash: validatorsHash(g.validators) },
        crypto: {
          sign: (b) => signer.sign(b),
          verify: (i, b, sig) => {
            const v = g.validators[i]
            return v !== undefined && verifySignature(v.publicKey, b, sig)
          },
        },
        validateRequest: (r) => this.#validRequest(r),
      },
      await this.store.readConsensus(),
    )
    this.driver = new ConsensusDriver(
      replica,
      this.store,
      this.#pbft,
      { execute: (d) => this.#execute(d), stateTransfer: (req) => this.#stateTransfer(req), halt: (err) => this.#halt(err), misbehaviour: this.opts.misbehaviour },
      this.metrics,
      this.log.child({ room: 'consensus' }),
    )
    this.sync = new BlockSync(this.links, this.store, new BlockVerifier(g, this.store, this.executor), (b) => this.#committed(b), this.metrics, this.log.child({ room: 'sync' }), this.opts.misbehaviour?.serveSync)
    this.sync.register()
    // Consensus waits until the first catch-up has brought the ledger to the others' height.
    await this.driver.pause()

    this.#pbft.onFrame((from, frame) => {
      try {
        this.driver.push({ type: 'message', from, msg: decodeMessage(frame, MAX_PBFT_FRAME_BYTES) }, frame.byteLength)
      } catch (err) {
        this.metrics.dropped.inc({ reason: 'malformed' })
        this.log.debug({ from, err: (err as Error).message }, 'malformed consensus message dropped')
      }
    })
    mempoolCh.onFrame((from, frame) => {
      this.#onGossip(from, frame).catch((err: unknown) => this.log.error({ err }, 'mempool frame handling failed'))
    })
    await this.links.start()

    this.api = await startApi(new PeerService(this), {
      host: this.cfg.http.host,
      port: this.cfg.http.port,
      maxBodyBytes: this.cfg.http.maxBodyBytes,
      commitWaitMs: this.cfg.http.commitWaitMs,
      logger: this.log,
    })
    this.driver.startTicks(this.cfg.tickMs)
    const head = this.store.head()!
    this.metrics.height.set(head.height)
    this.log.info({ chainId: g.chainId, index: this.cfg.index, height: head.height, api: this.api.url, listen: this.cfg.listen }, 'peer started')
    void this.catchUp()
    this.#lagProbe = setInterval(() => void this.#probeLag(), LAG_PROBE_MS)
  }

  /**
   * Pauses consensus, syncs verified blocks from peers up to their proven height (at least
   * `minTarget`; `checkpoint` covers the block it names), then lets consensus go on from the new
   * head. One catch-up at a time. Block sync gives up on peers that serve nothing, so no peer's
   * word keeps consensus paused.
   */
  catchUp(minTarget = 0, checkpoint: CheckpointCertificate | null = null): Promise<void> {
    this.#catchingUp ??= (async () => {
      await this.driver.pause()
      try {
        // Sync starts from a durable head.
        await this.#commits.drain()
        if (this.#firstSync) await this.#waitForPeers()
        await this.sync.run(minTarget, checkpoint)
      } catch (err) {
        this.log.error({ err }, 'block sync failed; will retry')
      } finally {
        this.#firstSync = false
        const head = this.store.head()!
        if (this.repairing !== null && head.height >= this.#repairTarget) {
          this.log.info({ height: head.height }, `store repaired: re-fetched and re-verified up to block ${head.height}; serving state again`)
          this.repairing = null
        }
        this.#catchingUp = null
        if (this.halted === null) this.driver.resume(head.height, head.hash, this.#pendingRequests(), Date.now())
      }
    })()
    return this.#catchingUp
  }

  /**
   * Opens the store and checks it (audit/store-repair.ts: fast, or full with --full-check). A
   * damaged store is rebuilt from its own verified blocks below the first bad height; catch-up
   * re-fetches the rest from peers, and state is withheld (503, not ready) until it is back.
   */
  async #openCheckedStore(): Promise<LedgerStore> {
    const store = await LedgerStore.open(this.cfg.dataDir)
    const found = store.head() === null ? null : await checkStore(store, this.genesis, this.opts.fullCheck === true)
    if (found === null) return store
    const head = store.head()!.height
    const { firstBad, problem } = await locateDamage(store, this.genesis)
    this.repairing = describeProblem(problem ?? found)
    this.#repairTarget = head
    this.log.error({ found, located: problem, firstBad, head }, `store damaged: ${this.repairing}; withholding state, rebuilding blocks below ${firstBad} and re-fetching the rest from peers`)
    return (await rebuildStore(store, this.cfg.dataDir, this.genesis, firstBad, this.log)).store
  }

  /** At start, give the links up to 2 s to reach every validator, so the first sync sees who is ahead and spreads over all of them. */
  async #waitForPeers(): Promise<void> {
    const want = this.genesis.validators.length - 1
    for (let i = 0; i < 40 && this.links.connectedPeers().length < want; i++) await new Promise((r) => setTimeout(r, 50))
  }

  /**
   * A peer that missed batches cannot execute later ones: if others are clearly ahead and our
   * head has not moved since the last probe, sync. A peer that is only slower keeps executing
   * and catches up in consensus (or, once a checkpoint passes it, by the core's own transfer
   * request): pausing it to sync took it out of the vote for nothing, and under load a primary
   * whose writes trail by a block or two stopped the whole network to do it.
   */
  async #probeLag(): Promise<void> {
    if (this.#catchingUp !== null || this.halted !== null) return
    const own = this.store.head()!.height
    // Proven heights only (see BlockSync.peerHeights): a peer that claims to be far ahead is not believed on its word.
    const best = Math.max(0, ...(await this.sync.peerHeights()).values())
    const stuck = best >= own + LAG_BLOCKS && own === this.#probedHeight
    this.#probedHeight = own
    this.#behind = stuck ? this.#behind + 1 : 0
    if (this.#behind >= 2) {
      this.#behind = 0
      this.log.info({ own, best }, 'behind the other peers; catching up by block sync')
      void this.catchUp(best)
    }
  }

  /** True from a catch-up's start (pausing consensus, waiting for peers) until consensus resumes. */
  get catchingUp(): boolean {
    return this.#catchingUp !== null
  }

  /** Block sync progress while catching up, false otherwise. */
  syncProgress(): false | { from: number; to: number; current: number } {
    return this.sync?.progress() ?? false
  }

  #stopTimers(): void {
    this.driver?.stopTicks()
    clearInterval(this.#lagProbe)
  }

  async stop(): Promise<void> {
    this.#stopTimers()
    await this.api?.app.close()
    await this.driver?.stop()
    // Blocks already executed are written before the store closes (a failed write halted the peer already).
    await this.#commits?.drain().catch(() => undefined)
    this.#gossip?.drain()
    this.waiters.cancelAll()
    await this.links?.stop()
    await this.store?.close()
  }

  /**
   * Admits client transactions: each verified once here, then forwarded to every validator.
   * The cheap refusals (mempool full, already pending or recently committed) come before the
   * signature check, so a flood beyond capacity costs little; one index lookup serves the lot.
   */
  async submit(txs: readonly Tx[]): Promise<Array<Admission | Error>> {
    const out: Array<Admission | Error> = txs.map((tx) => {
      if (this.#recent.has(keyOf(tx.id))) return 'committed'
      if (this.mempool.has(toHex(tx.id))) return 'known'
      if (this.mempool.size >= this.mempool.maxTxs) return 'full'
      return 'added'
    })
    const candidates = txs.filter((_, i) => out[i] === 'added')
    const bad = await this.#verifyAll(candidates)
    let k = 0
    txs.forEach((_, i) => {
      if (out[i] === 'added') out[i] = bad[k++] ?? 'added'
    })
    const checked = txs.filter((_, i) => out[i] === 'added')
    const admitted = await this.#admitUncommitted(checked)
    let j = 0
    txs.forEach((tx, i) => {
      if (out[i] !== 'added') return
      const r = admitted[j++]!
      if (r === 'added') this.#gossip.push(tx.bytes)
      out[i] = r
    })
    return out
  }

  /** Verified transactions into the mempool, except those the tx index already holds (one lookup for all). */
  async #admitUncommitted(txs: readonly Tx[]): Promise<Admission[]> {
    if (txs.length === 0) return []
    const done = await this.store.txLocations(txs.map((t) => t.id))
    return txs.map((tx, i) => (done[i] !== null ? 'committed' : this.#admit(tx)))
  }

  /**
   * Into the mempool and the consensus core. Called after an index lookup: the block holding the
   * transaction may have committed while it ran, so the recent ids are checked again here.
   */
  #admit(tx: Tx): Admission {
    if (this.#recent.has(keyOf(tx.id))) return 'committed'
    const r = this.mempool.admit(tx, performance.now())
    if (r === 'added') {
      this.metrics.mempoolSize.set(this.mempool.size)
      this.driver.push(requestInput(tx))
    }
    return r
  }

  #offerPending(peer: number, ch: Channel): void {
    const offered = offerPending(this.#pendingTxBytes(), (frame) => ch.send(peer, frame))
    if (offered > 0) this.log.debug({ peer, offered }, 'pending transactions offered to a peer that connected')
  }

  *#pendingTxBytes(): Generator<Uint8Array> {
    for (const e of this.mempool.entries()) yield e.tx.bytes
  }

  *#pendingRequests(): Generator<Input> {
    for (const e of this.mempool.entries()) yield requestInput(e.tx)
  }

  async #onGossip(from: number, frame: Uint8Array): Promise<void> {
    let list: Uint8Array[]
    try {
      list = decodeGossip(frame)
    } catch (err) {
      this.metrics.dropped.inc({ reason: 'malformedGossip' })
      this.log.debug({ from, err: (err as Error).message }, 'malformed mempool frame dropped')
      return
    }
    const invalid = (err: Error): void => {
      this.metrics.dropped.inc({ reason: 'invalidTx' })
      this.metrics.faults.inc({ replica: String(from) })
      this.log.debug({ from, err: err.message }, 'invalid forwarded transaction dropped')
    }
    const decoded: Tx[] = []
    for (const bytes of list) {
      // Full: the primary's batches will carry these, and they are checked then.
      if (this.mempool.size + decoded.length >= this.mempool.maxTxs) break
      try {
        const tx = decodeTx(bytes)
        if (!this.mempool.has(toHex(tx.id)) && !this.#recent.has(keyOf(tx.id))) decoded.push(tx)
      } catch (err) {
        invalid(err as Error)
      }
    }
    const bad = await this.#verifyAll(decoded)
    const fresh = decoded.filter((_, i) => bad[i] === null)
    for (const err of bad) if (err !== null) invalid(err)
    // A peer with a stale mempool may forward transactions committed long ago: the index lookup drops them.
    await this.#admitUncommitted(fresh)
  }

  /**
   * Signatures of transactions from clients and gossip, checked on the pool's worker threads: a
   * 500-transaction gossip frame is ~50 ms of verification that would otherwise hold up the
   * consensus messages queued behind it on the event loop. The pool only accelerates: anything
   * it could not confirm is checked here, and refused if bad. Null for each good transaction.
   */
  async #verifyAll(txs: readonly Tx[]): Promise<Array<Error | null>> {
    const out: Array<Error | null> = txs.map(() => null)
    const todo: Array<{ i: number; key: string }> = []
    txs.forEach((tx, i) => {
      try {
        checkTxVersion(tx)
        checkTxChain(tx, this.genesis.chainId)
        const key = checkedKey(tx)
        if (!this.#checked.has(key)) todo.push({ i, key })
      } catch (err) {
        out[i] = err as Error
      }
    })
    if (todo.length === 0) return out
    const ok = await this.#sigs.verify(todo.map(({ i }) => txCheck(txs[i]!)))
    todo.forEach(({ i, key }, k) => {
      if (ok[k] === 1) this.#checked.add(key)
      else {
        try {
          this.#verify(txs[i]!)
        } catch (err) {
          out[i] = err as Error
        }
      }
    })
    return out
  }

  /**
   * Each transaction's signature is checked once per peer, whichever way it arrives first (client,
   * gossip or a PRE-PREPARE): a PRE-PREPARE often beats the gossip carrying the same transaction.
   */
  #verify(tx: Tx): void {
    const key = checkedKey(tx)
    if (this.#checked.has(key)) return
    verifyTx(tx, this.genesis.chainId)
    this.#checked.add(key)
  }

  /** A request inside a PRE-PREPARE: a well-formed transaction for this chain with a valid signature. */
  #validRequest(r: Request): boolean {
    if (this.#recent.has(keyOf(r.id))) return false
    if (this.mempool.has(toHex(r.id))) return true
    try {
      const tx = decodeTx(r.payload)
      if (!equalBytes(tx.id, r.id)) return false
      this.#verify(tx)
      return true
    } catch {
      return false
    }
  }

  /**
   * Executes a delivered batch and hands its block to the store; returns the header hash (the
   * next batch's parent) once the block is accepted, so consensus goes on while it is written.
   * Clients hear of their transactions, and they leave the mempool, once the block is durable.
   * A crash before then loses nothing: the batch is still in the consensus log (see below) and
   * is executed again after the restart.
   */
  async #execute(d: Delivery): Promise<Uint8Array> {
    const txs = d.batch.requests.map((r) => this.mempool.get(toHex(r.id))?.tx ?? decodeTx(r.payload))
    const sealed = await this.executor.build(
      { seq: d.seq, time: d.batch.time, parent: d.batch.parent, digest: d.digest, cert: d.cert },
      txs,
      (tx) => this.mempool.has(toHex(tx.id)) || this.#checked.has(checkedKey(tx)),
    )
    const { block } = sealed
    await this.#commits.push(sealed, d.cert, () => this.#committed(block))
    // Executing a checkpoint's block signs the checkpoint, which lets every peer drop the batch
    // from its consensus log: that block must be on disk first.
    if (d.seq % this.genesis.consensus.checkpointInterval === 0) await this.#commits.drain()
    return headerHash(block.header)
  }

  #committed(block: Block): void {
    const h = block.header.height
    const now = performance.now()
    this.metrics.height.set(h)
    this.metrics.batchSize.observe(block.txs.length)
    for (const t of block.txs) this.#recent.add(keyOf(t.id))
    const ids = block.txs.map((t) => toHex(t.id))
    for (const e of this.mempool.remove(ids)) this.metrics.commitLatency.observe((now - e.seenAt) / 1000)
    this.metrics.mempoolSize.set(this.mempool.size)
    let ok = 0
    block.results.forEach((r, i) => {
      if (r.code === 0) ok++
      // Built only for a transaction someone waits for: most are not waited for on this peer.
      if (this.waiters.waiting(ids[i]!)) this.waiters.resolve(ids[i]!, { txId: ids[i]!, height: h, index: i, result: resultJson(r) })
    })
    this.metrics.committedTxs.inc({ result: 'ok' }, ok)
    this.metrics.committedTxs.inc({ result: 'failed' }, block.results.length - ok)
  }

  #stateTransfer(req: StateTransferRequest): void {
    this.log.info({ seq: req.seq }, 'others have a stable checkpoint beyond our window; catching up by block sync')
    void this.catchUp(req.seq, req.cert)
  }

  #halt(err: unknown): void {
    this.halted = (err as Error).message ?? String(err)
    this.log.fatal({ err }, 'peer halted: it will not vote or commit until the cause is fixed')
    this.#stopTimers()
  }

  async #ensureGenesis(): Promise<void> {
    const g = this.genesis
    const head = this.store.head()
    if (head === null) {
      await this.store.initGenesis(genesisBlock(g, emptyStateRoot()))
      return
    }
    const b0 = await this.store.getHeader(0)
    if (b0 === null || !equalBytes(b0.batchDigest, genesisHash(g))) {
      throw new ValidationError(`data directory ${this.cfg.dataDir} belongs to another chain (its block 0 does not match genesis ${this.cfg.genesis})`)
    }
  }
}

export interface NodeOptions {
  /** Check the whole ledger at start-up (--full-check). */
  fullCheck?: boolean
  /** TESTS ONLY: makes this peer a Byzantine validator (misbehaviour.ts); never set by config or CLI. */
  misbehaviour?: Misbehaviour
}

/** What became of a submitted transaction. */
export type Admission = 'added' | 'known' | 'committed' | 'full'

/** The id covers the signature (format 2), so a checked signature is remembered by the id alone. */
const checkedKey = (tx: Tx): string => keyOf(tx.id)

/** A client transaction as the consensus core takes it: its id is sha256(tx.bytes), as requestOf would derive. */
const requestInput = (tx: Tx): Input => ({ type: 'request', request: { id: tx.id, payload: tx.bytes } })

export async function startNode(cfg: NodeConfig, log: Logger, opts: NodeOptions = {}): Promise<VigilNode> {
  const node = new VigilNode(cfg, log, opts)
  try {
    await node.start()
  } catch (err) {
    await node.stop().catch(() => {})
    throw err
  }
  return node
}
