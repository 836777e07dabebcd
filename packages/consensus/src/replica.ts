import {
  ZERO_HASH, checkpointSignBytes, commitSignBytes, equalBytes, faultTolerance, keyOf, quorumSize, type ConsensusParams, type SignDomain,
} from '@vigil/common'
import { checkpointCertError, commitCertError } from './certs.js'
import { CheckpointVotes } from './checkpoint.js'
import { requestKeys } from './keys.js'
import { Log, addVote, matchingSigs, type HeldBatch, type Slot, type Vote } from './log.js'
import { RequestPool } from './mempool.js'
import {
  NULL_BATCH, NULL_DIGEST, digestOf, prepareSignBytes, type BatchReply, type Checkpoint, type Commit, type Committed, type Fetch, type Message,
  type NewView, type PrePrepare, type Prepare, type Stable, type Status, type ViewChange,
} from './messages.js'
import { KEYS, batchRecord, deliveredRecord, messageRecord, parseRecords, preparedRecord, proposalRecord, viewRecord, type Restored } from './persist.js'
import type { Batch, CheckpointCertificate, Input, Ready, ReplicaConfig, ReplicaCrypto, ReplicaStatus, Request } from './types.js'
import {
  buildNewView, buildViewChange, checkNewView, digestViewChange, viewChangeError, type DigestedViewChange, type Reproposal, type ViewChangeRules,
} from './viewchange.js'

/** View-change timeouts double per failed view up to 2^6 times the base, so recovery time stays bounded. */
const MAX_BACKOFF = 6
/**
 * The request timer also allows CYCLE_FACTOR times the recent time from accepting a batch to
 * executing it, capped at CYCLE_CAP request timeouts: an honest primary on loaded machines whose
 * blocks take most of a second is not replaced for being slow, while a silent one still is.
 */
const CYCLE_FACTOR = 4
const CYCLE_CAP = 8
/**
 * The request waited on longest must execute within this many request timeouts of becoming the
 * oldest, whatever else executes meanwhile: a primary cannot leave it out for ever, and an honest
 * one under overload, whose copy of it may arrive seconds after ours (its signature checks queue
 * up), is not replaced for that.
 */
const REQUEST_FACTOR = 8
/**
 * The empty batch that certifies the last non-empty block's state root waits this many batch
 * timeouts: under steady light traffic the next request's batch certifies it instead, and a
 * quiet ledger still has its latest state certified a moment later.
 */
const EMPTY_BATCH_FACTOR = 10

/** Committed batches sent to a lagging peer per STATUS it sends. */
const CATCH_UP_PER_STATUS = 8
/** Missing batches asked for at once, lowest sequence number first: each answer may be batchMaxBytes. */
const FETCH_WINDOW = 4
/** FETCHes answered to one peer per retransmission period: a 40-byte FETCH can cost a whole batch to answer. */
const FETCH_ANSWERS_PER_PERIOD = 2 * FETCH_WINDOW
const NULL_HELD: HeldBatch = Object.freeze({ batch: NULL_BATCH, digest: NULL_DIGEST, key: keyOf(NULL_DIGEST), requestKeys: [] })
const MAX_PENDING_REQUESTS = 100_000
const GENESIS_CHECKPOINT: CheckpointCertificate = { seq: 0, blockHash: ZERO_HASH, sigs: [] }

interface MissingBatch {
  digest: Uint8Array
  key: string
  /** Whom to ask, in turn. */
  holders: readonly number[]
  attempts: number
  /** A FETCH for it is outstanding (it counts against FETCH_WINDOW). */
  asked: boolean
}

const emptyReady = (): Ready => ({ persist: [], send: [], deliver: [], stateTransfer: null, faults: [], dropped: [], viewChange: null })

/**
 * One PBFT replica (Castro & Liskov) as a deterministic state machine: `step(input)` returns
 * a Ready and does nothing else. Its clock is the `now` of the last tick.
 *
 * Boot: step `{type: 'stateTransferred', seq: head, blockHash}` with the node's last executed
 * block (0 and the genesis hash on first start) before anything can be ordered.
 *
 * Sequence s is proposed only once s-1 is executed, with batch.parent = blockHash(s-1), so each
 * commit certificate covers the previous header and its state root (docs/design.md).
 */
export class Replica {
  private readonly id: number
  private readonly n: number
  private readonly f: number
  /** Of every certificate (PREPARE, COMMIT, CHECKPOINT, VIEW-CHANGE): quorumSize(n); tests may plant a wrong one. */
  private readonly quorum: number
  private readonly p: ConsensusParams
  private readonly d: SignDomain
  private readonly crypto: ReplicaCrypto
  private readonly validateRequest: ((r: Request) => boolean) | undefined
  private readonly rules: ViewChangeRules
  /** STATUS, VIEW-CHANGE and own-vote retransmission period. */
  private readonly retransmitMs: number
  private readonly exactViewTimer: boolean

  private view = 0
  private target = 0
  private changing = false
  private now = 0
  private viewStartedAt = 0
  /** Set once a quorum of VIEW-CHANGEs for the target are known (PBFT: only then can the new primary be blamed). */
  private vcDeadline: number | null = null
  private backoff = 0
  private nextRetransmit = 0

  private readonly log = new Log()
  private readonly checkpoints: CheckpointVotes
  private stable: CheckpointCertificate = GENESIS_CHECKPOINT
  /** The highest checkpoint certificate above what this replica has executed: the state-transfer target. */
  private ahead: CheckpointCertificate | null = null
  private transferRetryAt = 0
  private readonly ownCheckpoints = new Map<number, { blockHash: Uint8Array; sig: Uint8Array }>()

  private lastExecuted = -1
  private lastDelivered = -1
  private lastBlockHash: Uint8Array = ZERO_HASH
  private lastTime = 0
  private lastNonEmpty = false
  /** When requests were last executed: a backlog behind an honest primary that makes progress is no reason to replace it. */
  private lastProgressAt = 0
  /**
   * The request timer (PBFT's, one per request): it runs for the pending request this replica has
   * waited on longest (`key`), since `since`, and restarts only when that request executes, then
   * for the next one. Batches of other requests do not restart it (REQUEST_FACTOR), so a primary
   * cannot leave one request out for ever while proposing the rest. Null: nothing pending.
   */
  private requestTimer: { key: string; since: number } | null = null
  private lastExecutedAt = 0
  /** When the proposal for lastExecuted+1 was accepted, and a moving average of accept-to-execute times. */
  private nextProposal: { seq: number; at: number } | null = null
  private cycleMs = 0

  private readonly pool = new RequestPool(MAX_PENDING_REQUESTS)
  /** PRE-PREPAREs for seq > lastExecuted+1, waiting for their parent to be executed. At most L. */
  private readonly waiting = new Map<number, { msg: PrePrepare; digest: Uint8Array; keys: readonly string[] }>()
  /** The highest valid VIEW-CHANGE of each replica. */
  private readonly viewChanges = new Map<number, DigestedViewChange>()
  private myViewChange: DigestedViewChange | null = null
  /** The NEW-VIEW that installed the current view: relayed to replicas still in an older one. */
  private newView: NewView | null = null
  /**
   * Batches of accepted proposals this replica does not hold, by sequence number (at most L):
   * asked for FETCH_WINDOW at a time, each from its holders in turn, until a peer answers with
   * bytes whose digest is the one voted for.
   */
  private readonly missing = new Map<number, MissingBatch>()
  /** FETCHes answered per peer in the current retransmission period. */
  private readonly answered = new Map<number, number>()
  /** When each peer's STATUS was last answered. */
  private readonly helpedAt = new Map<number, number>()

  private out: Ready = emptyReady()

  constructor(cfg: ReplicaConfig, restored?: Array<{ key: string; value: Uint8Array }>) {
    if (!Number.isInteger(cfg.n) || cfg.n < 1 || !Number.isInteger(cfg.id) || cfg.id < 0 || cfg.id >= cfg.n) throw new RangeError(`replica ${cfg.id} of ${cfg.n}`)
    this.id = cfg.id
    this.n = cfg.n
    this.f = faultTolerance(cfg.n)
    this.quorum = cfg.unsafeQuorumOverride ?? quorumSize(cfg.n)
    this.exactViewTimer = cfg.unsafeExactViewTimer === true
    this.p = cfg.params
    this.d = cfg.domain
    this.crypto = cfg.crypto
    this.validateRequest = cfg.validateRequest
    this.retransmitMs = Math.max(cfg.params.batchTimeoutMs, Math.floor(cfg.params.viewChangeTimeoutMs / 4))
    this.checkpoints = new CheckpointVotes(Math.floor(cfg.params.watermarkWindow / cfg.params.checkpointInterval) + 2)
    this.rules = {
      domain: cfg.domain, n: cfg.n, checkpointInterval: cfg.params.checkpointInterval, watermarkWindow: cfg.params.watermarkWindow,
      quorum: this.quorum, verify: (r, b, s) => cfg.crypto.verify(r, b, s),
    }
    if (restored !== undefined && restored.length > 0) this.restore(parseRecords(restored))
  }

  step(input: Input): Ready {
    this.out = emptyReady()
    switch (input.type) {
      case 'message': this.onMessage(input.from, input.msg); break
      case 'request': this.onRequest(input.request); break
      case 'tick': this.onTick(input.now); break
      case 'executed': this.onExecuted(input.seq, input.blockHash, input.now); break
      case 'stateTransferred': this.onStateTransferred(input.seq, input.blockHash); break
    }
    this.deliverCommitted()
    this.acceptWaiting()
    this.propose()
    this.fetchMissing()
    this.armRequestTimer()
    return this.out
  }

  status(): ReplicaStatus {
    return {
      view: this.view, primary: this.primaryOf(this.view), viewChanging: this.changing, targetView: this.target,
      lowWatermark: this.low, highWatermark: this.low + this.p.watermarkWindow, lastExecuted: this.lastExecuted, lastDelivered: this.lastDelivered,
      lastStableCheckpoint: this.stable.seq, pendingRequests: this.pool.size, logSize: this.log.size,
    }
  }

  // ---- helpers -------------------------------------------------------------------------

  private primaryOf(view: number): number {
    return view % this.n
  }

  private get isPrimary(): boolean {
    return this.primaryOf(this.view) === this.id
  }

  private get low(): number {
    return this.stable.seq
  }

  private inWindow(seq: number): boolean {
    return seq > this.low && seq <= this.low + this.p.watermarkWindow
  }

  private timeout(): number {
    return this.p.viewChangeTimeoutMs * 2 ** Math.min(this.backoff, MAX_BACKOFF)
  }

  /** A quorum executed past us: we are the one behind, and cannot judge the primary until we catch up. */
  private behindCheckpoint(): boolean {
    return this.ahead !== null && this.ahead.seq > this.lastDelivered
  }

  /**
   * When a backup suspects the primary, by either rule: a request is outstanding and no batch was
   * executed for a whole request timeout (a silent primary), or the request waited on longest has
   * not executed within REQUEST_FACTOR request timeouts (a censoring one). Null: no suspicion
   * pending (primary, changing views, nothing outstanding, or behind a checkpoint).
   */
  private suspicion(): { silentAt: number; censoringAt: number; timeout: number } | null {
    if (this.changing || this.isPrimary || this.lastExecuted < 0 || this.requestTimer === null || this.behindCheckpoint()) return null
    const timeout = this.requestTimeout()
    const since = Math.max(this.requestTimer.since, this.viewStartedAt)
    return { silentAt: Math.max(since, this.lastProgressAt) + timeout, censoringAt: since + REQUEST_FACTOR * timeout, timeout }
  }

  private suspectPrimaryAt(): number | null {
    const s = this.suspicion()
    return s === null ? null : Math.min(s.silentAt, s.censoringAt)
  }

  /** The oldest pending request gets the timer when none runs; each step ends here, so nextDeadline() sees it. */
  private armRequestTimer(): void {
    if (this.requestTimer !== null) return
    const key = this.pool.oldestKey()
    if (key !== null) this.requestTimer = { key, since: this.now }
  }

  /**
   * Requests of a batch this replica accepted from the primary (a PRE-PREPARE, a NEW-VIEW): it
   * waits on them as on a client's, though no client or gossip brought them here. Otherwise a
   * replica that learned of a request only from the primary never suspects a primary whose
   * proposal cannot commit, and a replica that timed out on it waits alone for a view change.
   */
  private learn(requests: readonly Request[], keys: readonly string[]): void {
    for (let i = 0; i < requests.length; i++) this.pool.add(requests[i]!, this.now, keys[i])
  }

  /**
   * The clock reading at which a tick would make this replica act: a batch falling due, a
   * view-change or request timeout, a transfer retry, the next retransmission. The node
   * schedules its next tick for then instead of ticking on a fixed short period.
   */
  nextDeadline(): number {
    let at = this.nextRetransmit
    const consider = (t: number | null): void => {
      if (t !== null && t < at) at = t
    }
    consider(this.changing ? this.vcDeadline : this.suspectPrimaryAt())
    if (this.behindCheckpoint()) consider(this.transferRetryAt)
    consider(this.proposalDueAt())
    return at
  }

  /** How long an outstanding request may wait without progress before the primary is suspected. */
  private requestTimeout(): number {
    return Math.max(this.timeout(), Math.min(CYCLE_FACTOR * this.cycleMs, CYCLE_CAP * this.p.viewChangeTimeoutMs))
  }

  private drop(reason: string): void {
    this.out.dropped.push({ reason })
  }

  private fault(replica: number, reason: string): void {
    this.out.faults.push({ replica, reason })
  }

  private send(to: number | 'all', msg: Message): void {
    this.out.send.push({ to, msg })
  }

  private persist(key: string, value: Uint8Array | null): void {
    this.out.persist.push({ key, value })
  }

  /** Null if a normal-case message of `view` may be acted on now, else why not. */
  private viewError(view: number): string | null {
    if (view < this.view) return 'old view'
    if (view > this.view) return 'future view'
    return this.changing ? 'view change in progress' : null
  }

  /** Records a PREPARE or COMMIT; false (and the reason reported) if it is not new. */
  private vote(votes: Map<number, Vote>, from: number, m: Prepare | Commit): boolean {
    const r = addVote(votes, from, { digest: m.digest, key: keyOf(m.digest), sig: m.sig })
    if (r === 'new') return true
    if (r === 'conflict') this.fault(from, `equivocation: two ${m.type}s for view ${m.view} seq ${m.seq}`)
    this.drop(`${m.type} ${m.seq}: ${r === 'conflict' ? 'conflicts with an earlier vote' : 'duplicate'}`)
    return false
  }

  // ---- inputs --------------------------------------------------------------------------

  private onMessage(from: number, msg: Message): void {
    if (!Number.isInteger(from) || from < 0 || from >= this.n) return this.drop(`message from non-validator ${from}`)
    if (from === this.id) return this.drop('message from self')
    switch (msg.type) {
      case 'preprepare': return this.onPrePrepare(from, msg)
      case 'prepare': return this.onPrepare(from, msg)
      case 'commit': return this.onCommit(from, msg)
      case 'checkpoint': return this.onCheckpoint(from, msg)
      case 'viewchange': return this.onViewChange(from, msg)
      case 'newview': return this.onNewView(msg)
      case 'status': return this.onStatus(from, msg)
      case 'committed': return this.onCommitted(from, msg)
      case 'stable': return this.onStable(msg)
      case 'fetch': return this.onFetch(from, msg)
      case 'batch': return this.onBatch(from, msg)
    }
  }

  private onRequest(r: Request): void {
    if (r.id.byteLength !== 32) return this.drop('request: id is not 32 bytes')
    if (r.payload.byteLength > this.p.batchMaxBytes) return this.drop('request: larger than batchMaxBytes')
    const err = this.pool.add(r, this.now)
    if (err !== null) this.drop(`request: ${err}`)
  }

  private onTick(now: number): void {
    // No tick for a whole request timeout: this replica did not run (a stopped process, a VM
    // pause, a long GC). The primary cannot be blamed for that time, and waking up into a view
    // change nobody else starts would leave this replica out of consensus: timers restart.
    const stalled = now - this.now > this.requestTimeout()
    this.now = Math.max(this.now, now)
    if (stalled) {
      this.lastProgressAt = this.now
      if (this.requestTimer !== null) this.requestTimer.since = this.now
      if (this.vcDeadline !== null) this.vcDeadline = this.now + this.timeout()
    }
    if (this.changing) {
      if (this.vcDeadline !== null && this.now >= this.vcDeadline) this.startViewChange(this.target + 1, `no NEW-VIEW for view ${this.target} in time`)
    } else {
      const s = this.suspicion()
      if (s !== null && this.now >= s.silentAt) {
        this.startViewChange(this.view + 1, `a request waited ${this.now - (s.silentAt - s.timeout)} ms with no batch executed (timeout ${s.timeout} ms)`)
      } else if (s !== null && this.now >= s.censoringAt) {
        const limit = REQUEST_FACTOR * s.timeout
        this.startViewChange(this.view + 1, `the oldest request waited ${this.now - (s.censoringAt - limit)} ms while other batches executed (limit ${limit} ms)`)
      }
    }
    if (this.behindCheckpoint() && this.now >= this.transferRetryAt) this.requestTransfer()
    if (this.now >= this.nextRetransmit) {
      this.nextRetransmit = this.now + this.retransmitMs
      this.retransmit()
    }
  }

  private onExecuted(seq: number, blockHash: Uint8Array, now: number): void {
    if (seq !== this.lastExecuted + 1 || seq > this.lastDelivered) return this.drop(`executed ${seq}: not the next delivered sequence number`)
    // The node steps nothing else while it executes, ticks included: without this, the next tick
    // after an execution slower than the request timeout (a write stall) started a view change.
    this.now = Math.max(this.now, now)
    const committed = this.log.peek(seq)?.committed
    const batch = committed?.batch
    this.lastExecuted = seq
    this.lastBlockHash = blockHash
    this.lastExecutedAt = this.now
    if (batch !== undefined) {
      this.lastTime = Math.max(this.lastTime, batch.time)
      this.lastNonEmpty = batch.requests.length > 0
      if (this.lastNonEmpty) {
        this.lastProgressAt = this.now
        // The request waited on executed: the timer starts over, for the oldest still pending (armRequestTimer).
        if (this.requestTimer !== null && committed!.requestKeys.includes(this.requestTimer.key)) this.requestTimer = null
        if (this.nextProposal?.seq === seq) {
          const took = this.now - this.nextProposal.at
          this.cycleMs = this.cycleMs === 0 ? took : (3 * this.cycleMs + took) / 4
        }
      }
    }
    if (!this.changing) this.backoff = 0
    for (const s of this.waiting.keys()) if (s <= seq) this.waiting.delete(s)
    this.onStateReached(seq, blockHash)
  }

  private onStateTransferred(seq: number, blockHash: Uint8Array): void {
    if (seq <= this.lastExecuted) return this.drop(`state transfer to ${seq}: already executed`)
    this.lastExecuted = seq
    this.lastDelivered = Math.max(this.lastDelivered, seq)
    this.lastBlockHash = blockHash
    this.lastExecutedAt = this.now
    this.lastProgressAt = this.now
    this.lastNonEmpty = false
    // Requests delivered in the skipped range are unknown here; dropping all pending ones avoids proposing them again.
    this.pool.clearPending()
    this.requestTimer = null
    // Those of proposals above it this replica accepted (before a restart, say) are still waited on:
    // their retransmissions are dropped as duplicates, so nothing else brings them back.
    for (const s of this.log.sorted()) {
      const held = s.seq > seq && s.view === this.view && s.pp !== null ? s.batches.get(s.pp.key) : undefined
      if (held !== undefined) this.learn(held.batch.requests, held.requestKeys)
    }
    for (const s of this.waiting.keys()) if (s <= seq) this.waiting.delete(s)
    this.onStateReached(seq, blockHash)
  }

  /** Executed up to seq (by execution or transfer): sign a checkpoint if due, and use a certificate waiting for it. */
  private onStateReached(seq: number, blockHash: Uint8Array): void {
    if (seq % this.p.checkpointInterval === 0 && seq > this.low) {
      const sig = this.crypto.sign(checkpointSignBytes(this.d, seq, blockHash))
      this.ownCheckpoints.set(seq, { blockHash, sig })
      this.send('all', { type: 'checkpoint', seq, blockHash, sig })
      this.checkpoints.add(this.id, seq, blockHash, sig)
      this.tryStable(seq)
    }
    if (this.ahead !== null && this.ahead.seq <= seq) {
      const cert = this.ahead
      this.ahead = null
      this.onStableCert(cert)
    }
  }

  // ---- normal case ---------------------------------------------------------------------

  /** Why a proposed batch is malformed, or its request keys. */
  private checkBatch(b: Batch): { error: string } | { keys: string[] } {
    if (b.parent === null) return { error: 'batch has no parent' }
    if (b.requests.length > this.p.batchMaxCount) return { error: 'batch holds more than batchMaxCount requests' }
    const keys = requestKeys(b.requests)
    if (new Set(keys).size !== keys.length) return { error: 'batch holds a request twice' }
    let bytes = 0
    for (let i = 0; i < keys.length; i++) {
      const r = b.requests[i]!
      bytes += r.payload.byteLength
      // Requests from our own pool were validated on the way in.
      if (this.validateRequest !== undefined && !this.pool.isPending(keys[i]!) && !this.validateRequest(r)) return { error: 'batch holds an invalid request' }
    }
    return bytes > this.p.batchMaxBytes ? { error: 'batch exceeds batchMaxBytes' } : { keys }
  }

  private onPrePrepare(from: number, m: PrePrepare): void {
    const ve = this.viewError(m.view)
    if (ve !== null) return this.drop(`pre-prepare: ${ve}`)
    if (from !== this.primaryOf(m.view)) {
      this.fault(from, 'pre-prepare from a backup')
      return this.drop('pre-prepare: not from the primary')
    }
    if (!this.inWindow(m.seq)) return this.drop(`pre-prepare ${m.seq}: outside the watermarks`)
    const digest = digestOf(m.batch)
    if (!this.crypto.verify(from, prepareSignBytes(this.d, m.view, m.seq, digest), m.sig)) return this.drop(`pre-prepare ${m.seq}: bad signature`)
    const slot = this.log.peek(m.seq)
    const known = slot !== undefined && slot.view === m.view && slot.pp !== null ? slot.pp.digest : this.waiting.get(m.seq)?.digest
    if (known !== undefined) {
      if (equalBytes(known, digest)) {
        // A re-proposal accepted by digest: the primary's retransmission brings its batch.
        if (this.missing.get(m.seq)?.key === keyOf(digest)) return this.supplyBatch(m.seq, m.batch, digest)
        return this.drop(`pre-prepare ${m.seq}: duplicate`)
      }
      this.fault(from, `equivocation: two pre-prepares for view ${m.view} seq ${m.seq}`)
      return this.drop(`pre-prepare ${m.seq}: conflicts with an earlier one`)
    }
    // Retransmissions and duplicates are settled above, before the costly per-request checks: a
    // retransmitted batch that is already committed here would otherwise look like stale requests.
    if (m.seq <= this.lastDelivered) return this.drop(`pre-prepare ${m.seq}: already committed`)
    const checked = this.checkBatch(m.batch)
    if ('error' in checked) {
      this.fault(from, checked.error)
      return this.drop(`pre-prepare ${m.seq}: ${checked.error}`)
    }
    this.learn(m.batch.requests, checked.keys)
    if (this.lastExecuted < 0 || m.seq > this.lastExecuted + 1) {
      if (this.waiting.size >= this.p.watermarkWindow) return this.drop(`pre-prepare ${m.seq}: waiting buffer full`)
      this.waiting.set(m.seq, { msg: m, digest, keys: checked.keys })
      return
    }
    this.acceptPrePrepare(m, digest, checked.keys)
  }

  /** The parent rule, batch time and dedup checks, for a pre-prepare of lastExecuted+1. */
  private acceptPrePrepare(m: PrePrepare, digest: Uint8Array, keys: readonly string[]): void {
    const primary = this.primaryOf(m.view)
    if (!equalBytes(m.batch.parent!, this.lastBlockHash)) {
      this.fault(primary, `pre-prepare ${m.seq}: parent is not the hash of block ${m.seq - 1}`)
      return this.drop(`pre-prepare ${m.seq}: parent mismatch`)
    }
    if (m.batch.time < this.lastTime || m.batch.time > this.now + this.p.maxClockSkewMs) return this.drop(`pre-prepare ${m.seq}: batch time out of bounds`)
    if (keys.some((k) => this.pool.isDelivered(k))) {
      this.fault(primary, `pre-prepare ${m.seq}: proposes a delivered request`)
      return this.drop(`pre-prepare ${m.seq}: request already delivered`)
    }
    this.installProposal(m.seq, digest, m.sig, { batch: m.batch, digest, key: keyOf(digest), requestKeys: keys }, [])
  }

  private acceptWaiting(): void {
    if (this.changing || this.lastExecuted < 0) return
    const seq = this.lastExecuted + 1
    const w = this.waiting.get(seq)
    if (w === undefined) return
    this.waiting.delete(seq)
    if (w.msg.view === this.view && seq > this.lastDelivered) this.acceptPrePrepare(w.msg, w.digest, w.keys)
  }

  /**
   * Accepts (v, seq, digest) as this view's proposal: persisted before the PREPARE it implies
   * leaves. Without its batch (`held` null: a re-proposal of a batch this replica never saw) it is
   * voted on all the same, as PBFT votes on digests, and the batch is fetched from `holders`.
   */
  private installProposal(seq: number, digest: Uint8Array, primarySig: Uint8Array, held: HeldBatch | null, holders: readonly number[]): void {
    const slot = this.log.at(seq, this.view)
    const key = keyOf(digest)
    const primary = this.primaryOf(this.view)
    if (seq === this.lastExecuted + 1) this.nextProposal = { seq, at: this.now }
    slot.pp = { digest, key, sig: primarySig }
    slot.prepares.set(primary, { digest, key, sig: primarySig })
    this.persist(KEYS.prePrepare(seq), proposalRecord(this.view, seq, digest, primarySig))
    slot.ppRecord = true
    if (held !== null) this.holdBatch(slot, held)
    this.pruneBatches(slot)
    if (slot.batches.has(key)) this.missing.delete(seq)
    else this.want(seq, digest, key, holders)
    if (primary !== this.id) {
      const sig = this.crypto.sign(prepareSignBytes(this.d, this.view, seq, digest))
      slot.prepares.set(this.id, { digest, key, sig })
      this.send('all', { type: 'prepare', view: this.view, seq, digest, sig })
    }
    this.checkPrepared(slot)
  }

  private onPrepare(from: number, m: Prepare): void {
    const ve = this.viewError(m.view)
    if (ve !== null) return this.drop(`prepare: ${ve}`)
    if (from === this.primaryOf(m.view)) return this.drop('prepare: from the primary')
    if (!this.inWindow(m.seq)) return this.drop(`prepare ${m.seq}: outside the watermarks`)
    if (!this.crypto.verify(from, prepareSignBytes(this.d, m.view, m.seq, m.digest), m.sig)) return this.drop(`prepare ${m.seq}: bad signature`)
    const slot = this.log.at(m.seq, m.view)
    if (this.vote(slot.prepares, from, m)) this.checkPrepared(slot)
  }

  private checkPrepared(slot: Slot): void {
    if (slot.pp === null || slot.sentCommit) return
    const sigs = matchingSigs(slot.prepares, slot.pp.key)
    if (sigs.length < this.quorum) return
    const cert = { view: slot.view, seq: slot.seq, digest: slot.pp.digest, sigs }
    slot.prepared = cert
    this.persist(KEYS.prepared(slot.seq), preparedRecord(cert))
    slot.pcRecord = true
    this.pruneBatches(slot)
    this.sendCommit(slot)
    this.checkCommitted(slot)
  }

  private sendCommit(slot: Slot): void {
    const pp = slot.pp!
    const sig = this.crypto.sign(commitSignBytes(this.d, slot.view, slot.seq, pp.digest))
    slot.commits.set(this.id, { digest: pp.digest, key: pp.key, sig })
    slot.sentCommit = true
    this.send('all', { type: 'commit', view: slot.view, seq: slot.seq, digest: pp.digest, sig })
  }

  private onCommit(from: number, m: Commit): void {
    const ve = this.viewError(m.view)
    if (ve !== null) return this.drop(`commit: ${ve}`)
    if (!this.inWindow(m.seq)) return this.drop(`commit ${m.seq}: outside the watermarks`)
    if (!this.crypto.verify(from, commitSignBytes(this.d, m.view, m.seq, m.digest), m.sig)) return this.drop(`commit ${m.seq}: bad signature`)
    const slot = this.log.at(m.seq, m.view)
    if (this.vote(slot.commits, from, m)) this.checkCommitted(slot)
  }

  private checkCommitted(slot: Slot): void {
    if (slot.committed !== null || slot.certified !== null || slot.pp === null || !slot.sentCommit) return
    const sigs = matchingSigs(slot.commits, slot.pp.key)
    if (sigs.length < this.quorum) return
    const cert = { view: slot.view, seq: slot.seq, digest: slot.pp.digest, sigs }
    const held = slot.batches.get(slot.pp.key)
    // Committed on the digest: delivery waits for the batch (supplyBatch).
    if (held === undefined) slot.certified = cert
    else slot.committed = { ...held, cert }
  }

  // ---- missing batches -----------------------------------------------------------------

  /** Holds a batch for a slot's proposal or prepared certificate, persisted: it backs votes, and peers may fetch it. */
  private holdBatch(slot: Slot, held: HeldBatch): void {
    if (slot.batches.has(held.key)) return
    slot.batches.set(held.key, held)
    this.persist(KEYS.batch(slot.seq, held.digest), batchRecord(held.batch))
  }

  /** Forgets the batches that neither the proposal nor the prepared certificate names any more. */
  private pruneBatches(slot: Slot): void {
    const preparedKey = slot.prepared === null ? null : keyOf(slot.prepared.digest)
    for (const [key, held] of slot.batches) {
      if (key === slot.pp?.key || key === preparedKey) continue
      slot.batches.delete(key)
      this.persist(KEYS.batch(slot.seq, held.digest), null)
    }
  }

  private want(seq: number, digest: Uint8Array, key: string, holders: readonly number[]): void {
    const others = holders.filter((h) => h !== this.id && h < this.n)
    const all = Array.from({ length: this.n - 1 }, (_, i) => (this.id + 1 + i) % this.n)
    this.missing.set(seq, { digest, key, holders: others.length > 0 ? others : all, attempts: 0, asked: false })
  }

  /** Asks for missing batches not yet asked for, lowest first, while fewer than FETCH_WINDOW are outstanding. */
  private fetchMissing(): void {
    if (this.missing.size === 0) return
    const wants = [...this.missing].sort((a, b) => a[0] - b[0])
    let outstanding = 0
    for (const [seq, w] of wants) {
      if (seq <= this.lastDelivered || this.log.peek(seq)?.committed) this.missing.delete(seq)
      else if (w.asked) outstanding++
    }
    for (const [seq, w] of wants) {
      if (outstanding >= FETCH_WINDOW) return
      if (w.asked || !this.missing.has(seq)) continue
      this.askFor(seq, w)
      outstanding++
    }
  }

  /** One holder at a time, the next one on each retransmission: at least one holder is honest and still has it. */
  private askFor(seq: number, w: MissingBatch): void {
    const to = w.holders[(seq + w.attempts) % w.holders.length]!
    w.attempts++
    w.asked = true
    this.send(to, { type: 'fetch', seq, digest: w.digest })
  }

  private onFetch(from: number, m: Fetch): void {
    const held = this.log.peek(m.seq)?.batchFor(keyOf(m.digest))
    if (held === undefined) return this.drop(`fetch ${m.seq}: batch not held`)
    const answered = this.answered.get(from) ?? 0
    if (answered >= FETCH_ANSWERS_PER_PERIOD) return this.drop(`fetch ${m.seq}: replica ${from} asked for more than ${FETCH_ANSWERS_PER_PERIOD} batches this period`)
    this.answered.set(from, answered + 1)
    this.send(from, { type: 'batch', seq: m.seq, digest: held.digest, batch: held.batch })
  }

  /** A fetched batch: taken only if asked for, and only if its bytes have the digest voted for (ids are derived from the payloads on decode). */
  private onBatch(from: number, m: BatchReply): void {
    if (this.missing.get(m.seq)?.key !== keyOf(m.digest)) return this.drop(`batch ${m.seq}: not asked for`)
    if (!equalBytes(digestOf(m.batch), m.digest)) {
      this.fault(from, `batch ${m.seq}: its bytes do not have the digest it names`)
      return this.drop(`batch ${m.seq}: does not match its digest`)
    }
    this.supplyBatch(m.seq, m.batch, m.digest)
  }

  /** The batch of an accepted proposal arrived (its digest checked): held, and deliverable if committed. */
  private supplyBatch(seq: number, batch: Batch, digest: Uint8Array): void {
    this.missing.delete(seq)
    const slot = this.log.peek(seq)
    if (slot === undefined) return
    const held: HeldBatch = { batch, digest, key: keyOf(digest), requestKeys: requestKeys(batch.requests) }
    if (held.key === slot.pp?.key || (slot.prepared !== null && equalBytes(slot.prepared.digest, digest))) this.holdBatch(slot, held)
    if (held.key === slot.pp?.key && seq > this.lastDelivered) this.learn(held.batch.requests, held.requestKeys)
    if (slot.committed === null && slot.certified !== null && equalBytes(slot.certified.digest, digest)) {
      slot.committed = { ...held, cert: slot.certified }
      slot.certified = null
    }
  }

  private deliverCommitted(): void {
    if (this.lastDelivered < 0) return
    for (let slot = this.log.peek(this.lastDelivered + 1); slot?.committed; slot = this.log.peek(this.lastDelivered + 1)) {
      const c = slot.committed
      this.lastDelivered = slot.seq
      this.out.deliver.push({ seq: slot.seq, view: c.cert.view, batch: c.batch, digest: c.digest, cert: c.cert })
      this.pool.markDelivered(slot.seq, c.requestKeys)
      if (c.batch.requests.length > 0) this.persist(KEYS.delivered(slot.seq), deliveredRecord(c.batch.requests.map((r) => r.id)))
    }
  }

  /**
   * When the primary proposes lastExecuted+1: at once for a full batch, batchTimeoutMs after the
   * oldest pending request arrived, or (no requests) one empty batch EMPTY_BATCH_FACTOR times
   * that long after a non-empty one was executed, so that its header is certified. Null: not now
   * (not the primary, the previous batch not executed, the window full, or nothing to propose).
   */
  private proposalDueAt(): number | null {
    if (!this.isPrimary || this.changing || this.lastExecuted < 0 || this.lastDelivered !== this.lastExecuted) return null
    const seq = this.lastExecuted + 1
    if (!this.inWindow(seq)) return null
    const slot = this.log.peek(seq)
    if (slot !== undefined && (slot.committed !== null || (slot.view === this.view && slot.pp !== null))) return null
    const p = this.p
    const oldest = this.pool.oldestArrival()
    if (oldest === null) return this.lastNonEmpty ? this.lastExecutedAt + EMPTY_BATCH_FACTOR * p.batchTimeoutMs : null
    return this.pool.size >= p.batchMaxCount || this.pool.pendingBytes >= p.batchMaxBytes ? -Infinity : oldest + p.batchTimeoutMs
  }

  private propose(): void {
    const dueAt = this.proposalDueAt()
    if (dueAt === null || this.now < dueAt) return
    const p = this.p
    const seq = this.lastExecuted + 1
    const { requests, keys } = this.pool.take(p.batchMaxCount, p.batchMaxBytes)
    const batch: Batch = { time: Math.max(this.now, this.lastTime), parent: this.lastBlockHash, requests }
    const digest = digestOf(batch)
    const sig = this.crypto.sign(prepareSignBytes(this.d, this.view, seq, digest))
    this.send('all', { type: 'preprepare', view: this.view, seq, batch, sig })
    this.installProposal(seq, digest, sig, { batch, digest, key: keyOf(digest), requestKeys: keys }, [])
  }

  // ---- checkpoints and state transfer --------------------------------------------------

  private onCheckpoint(from: number, m: Checkpoint): void {
    if (m.seq === 0 || m.seq % this.p.checkpointInterval !== 0) return this.drop(`checkpoint ${m.seq}: not at a checkpoint interval`)
    if (m.seq <= this.low) return this.drop(`checkpoint ${m.seq}: below the low watermark`)
    if (!this.crypto.verify(from, checkpointSignBytes(this.d, m.seq, m.blockHash), m.sig)) return this.drop(`checkpoint ${m.seq}: bad signature`)
    const r = this.checkpoints.add(from, m.seq, m.blockHash, m.sig)
    if (r === 'new') return this.tryStable(m.seq)
    if (r === 'conflict') this.fault(from, `equivocation: two checkpoints for seq ${m.seq}`)
    this.drop(`checkpoint ${m.seq}: ${r === 'conflict' ? 'conflicts with an earlier one' : 'duplicate'}`)
  }

  private onStable(m: Stable): void {
    const c = m.cert
    if (c.seq <= this.low) return this.drop(`stable ${c.seq}: below the low watermark`)
    if (c.seq % this.p.checkpointInterval !== 0) return this.drop(`stable ${c.seq}: not at a checkpoint interval`)
    const err = checkpointCertError(c, this.d, this.n, this.rules.verify, this.quorum)
    if (err !== null) return this.drop(`stable ${c.seq}: ${err}`)
    this.onStableCert(c)
  }

  private tryStable(seq: number): void {
    const cert = this.checkpoints.certificate(seq, this.quorum)
    if (cert !== null) this.onStableCert(cert)
  }

  /** A valid checkpoint certificate: move the low watermark if executed that far, else catch up to it. */
  private onStableCert(cert: CheckpointCertificate): void {
    if (cert.seq <= this.low) return
    if (cert.seq <= this.lastExecuted) {
      const own = this.ownCheckpoints.get(cert.seq)
      if (own !== undefined && !equalBytes(own.blockHash, cert.blockHash)) return this.fault(this.id, `state at ${cert.seq} differs from the checkpoint quorum`)
      return this.makeStable(cert)
    }
    if (this.ahead === null || cert.seq > this.ahead.seq) this.ahead = cert
    // The others garbage-collect their logs below a stable checkpoint: only state transfer gets us there.
    if (cert.seq > this.lastDelivered) this.requestTransfer()
  }

  private requestTransfer(): void {
    const c = this.ahead!
    this.transferRetryAt = this.now + 4 * this.retransmitMs
    this.out.stateTransfer = { seq: c.seq, blockHash: c.blockHash, cert: c }
  }

  /** The low watermark moves to cert.seq; everything below it is garbage-collected, records included. */
  private makeStable(cert: CheckpointCertificate): void {
    this.stable = cert
    this.persist(KEYS.stable, messageRecord({ type: 'stable', cert }))
    for (const s of this.log.removeUpTo(cert.seq)) {
      if (s.ppRecord) this.persist(KEYS.prePrepare(s.seq), null)
      if (s.pcRecord) this.persist(KEYS.prepared(s.seq), null)
      for (const held of s.batches.values()) this.persist(KEYS.batch(s.seq, held.digest), null)
      this.missing.delete(s.seq)
    }
    this.checkpoints.prune(cert.seq)
    for (const s of this.ownCheckpoints.keys()) if (s <= cert.seq) this.ownCheckpoints.delete(s)
    for (const s of this.waiting.keys()) if (s <= cert.seq) this.waiting.delete(s)
    // Dedup memory reaches one window below the stable checkpoint.
    for (const s of this.pool.forget(cert.seq - this.p.watermarkWindow)) this.persist(KEYS.delivered(s), null)
    if (this.ahead !== null && this.ahead.seq <= cert.seq) this.ahead = null
  }

  // ---- catch-up ------------------------------------------------------------------------

  /** Periodic: STATUS (so peers can help), and this replica's own latest votes in case they were lost. */
  private retransmit(): void {
    this.answered.clear()
    for (const [seq, w] of this.missing) if (w.asked) this.askFor(seq, w)
    if (this.lastExecuted >= 0) this.send('all', { type: 'status', view: this.view, lastExecuted: this.lastExecuted })
    if (this.changing) {
      if (this.myViewChange !== null) this.send('all', this.myViewChange.msg)
    } else {
      for (const s of this.log.sorted()) {
        if (s.seq <= this.lastExecuted || s.view !== this.view || s.pp === null) continue
        const { digest } = s.pp
        const held = s.batches.get(s.pp.key)
        if (this.isPrimary) {
          if (held !== undefined) this.send('all', { type: 'preprepare', view: s.view, seq: s.seq, batch: held.batch, sig: s.pp.sig })
        } else this.send('all', { type: 'prepare', view: s.view, seq: s.seq, digest, sig: s.prepares.get(this.id)!.sig })
        if (s.sentCommit) this.send('all', { type: 'commit', view: s.view, seq: s.seq, digest, sig: s.commits.get(this.id)!.sig })
      }
    }
    let latest = -1
    for (const s of this.ownCheckpoints.keys()) latest = Math.max(latest, s)
    const own = this.ownCheckpoints.get(latest)
    if (own !== undefined) this.send('all', { type: 'checkpoint', seq: latest, blockHash: own.blockHash, sig: own.sig })
  }

  /** The f+1 replicas after j help it (at least one is honest), so a laggard is not sent n-1 copies. */
  private helps(j: number): boolean {
    const d = (this.id - j + this.n) % this.n
    return d >= 1 && d <= this.f + 1
  }

  private onStatus(from: number, m: Status): void {
    if (!this.helps(from)) return
    // An honest peer sends STATUS once per retransmission period: answering more often (half a
    // period allows for network jitter) would turn a flood of small STATUS into a flood of batches.
    const answered = this.helpedAt.get(from)
    if (answered !== undefined && this.now - answered < this.retransmitMs / 2) return this.drop('status: this peer was answered less than half a retransmission period ago')
    this.helpedAt.set(from, this.now)
    if (m.view < this.view && !this.changing && this.newView !== null) this.send(from, this.newView)
    if (m.lastExecuted < this.low) {
      this.send(from, { type: 'stable', cert: this.stable })
      return
    }
    // A peer that executed exactly to our stable checkpoint may lack its certificate: its window then
    // ends there, and the batches after it would be dropped as outside its watermarks.
    if (m.lastExecuted === this.low && this.low > 0) this.send(from, { type: 'stable', cert: this.stable })
    const last = Math.min(this.lastDelivered, m.lastExecuted + CATCH_UP_PER_STATUS)
    for (let s = m.lastExecuted + 1; s <= last; s++) {
      const c = this.log.peek(s)?.committed
      if (c) this.send(from, { type: 'committed', batch: c.batch, cert: c.cert })
    }
  }

  /** A batch with its commit certificate: enough to deliver, whatever view the sender is in. */
  private onCommitted(from: number, m: Committed): void {
    const c = m.cert
    if (c.seq <= this.lastDelivered) return this.drop(`committed ${c.seq}: already delivered`)
    if (!this.inWindow(c.seq)) return this.drop(`committed ${c.seq}: outside the watermarks`)
    if (this.log.peek(c.seq)?.committed) return this.drop(`committed ${c.seq}: duplicate`)
    if (m.batch.requests.length > this.p.batchMaxCount) return this.drop(`committed ${c.seq}: batch holds more than batchMaxCount requests`)
    const digest = digestOf(m.batch)
    if (!equalBytes(digest, c.digest)) {
      this.fault(from, `committed ${c.seq}: batch does not match its certificate`)
      return this.drop(`committed ${c.seq}: batch does not match its certificate`)
    }
    const err = commitCertError(c, this.d, this.n, this.rules.verify, this.quorum)
    if (err !== null) return this.drop(`committed ${c.seq}: ${err}`)
    this.log.at(c.seq, this.view).committed = { batch: m.batch, digest, key: keyOf(digest), cert: c, requestKeys: requestKeys(m.batch.requests) }
  }

  // ---- view change ---------------------------------------------------------------------

  private startViewChange(target: number, reason: string): void {
    this.out.viewChange = { view: target, reason }
    this.changing = true
    this.target = target
    this.vcDeadline = null
    this.backoff++
    this.waiting.clear()
    const prepared = this.log.sorted().flatMap((s) => (s.prepared !== null && s.seq > this.low ? [s.prepared] : []))
    const vc = buildViewChange(this.d, this.crypto, target, this.id, this.stable, prepared)
    this.myViewChange = vc
    this.persist(KEYS.view, viewRecord(this.view, target, true))
    this.persist(KEYS.viewChange, messageRecord(vc.msg))
    this.send('all', vc.msg)
    this.viewChanges.set(this.id, vc)
    this.afterViewChangeVote()
  }

  private onViewChange(from: number, m: ViewChange): void {
    if (m.replica !== from) return this.drop('view-change: signer is not the sender')
    if (m.view <= this.view) return this.drop(`view-change ${m.view}: old view`)
    const prev = this.viewChanges.get(from)
    if (prev !== undefined && prev.msg.view >= m.view) {
      if (prev.msg.view > m.view) return this.drop(`view-change ${m.view}: older than one already received`)
      if (equalBytes(prev.msg.sig, m.sig)) return this.drop(`view-change ${m.view}: duplicate`)
      this.fault(from, `equivocation: two view-changes for view ${m.view}`)
      return this.drop(`view-change ${m.view}: conflicts with an earlier one`)
    }
    const vc = digestViewChange(this.d, m)
    const err = viewChangeError(this.rules, vc)
    if (err !== null) {
      // The link is authenticated and the message names its sender: a bad one is that validator's doing.
      this.fault(from, `invalid view-change for view ${m.view}: ${err}`)
      return this.drop(`view-change ${m.view}: ${err}`)
    }
    this.viewChanges.set(from, vc)
    this.afterViewChangeVote()
  }

  /** Join a view change f+1 replicas ask for; start the timer and (as its primary) the NEW-VIEW once a quorum agrees. */
  private afterViewChangeVote(): void {
    const current = this.changing ? this.target : this.view
    const higher = [...this.viewChanges.values()].map((v) => v.msg.view).filter((v) => v > current).sort((a, b) => b - a)
    // The (f+1)-th highest: at least one honest replica asks for a view at least this high.
    if (higher.length > this.f) return this.startViewChange(higher[this.f]!, `${this.f + 1} replicas asked for view ${higher[this.f]!} or higher`)
    if (!this.changing) return
    const all = [...this.viewChanges.values()]
    // A quorum asks for the target or higher: the target may be waited on now. Those asking for a
    // higher view (at most f of them, or the rule above applies) never come back to the target, so
    // counting only the target's own VIEW-CHANGEs can leave everyone waiting (docs/design.md).
    const towards = all.filter((v) => (this.exactViewTimer ? v.msg.view === this.target : v.msg.view >= this.target)).length
    if (towards >= this.quorum) this.vcDeadline ??= this.now + this.timeout()
    if (this.primaryOf(this.target) !== this.id) return
    const votes = all.filter((v) => v.msg.view === this.target).sort((a, b) => a.msg.replica - b.msg.replica)
    if (votes.length < this.quorum) return
    const { msg, entries, checkpoint } = buildNewView(this.d, this.crypto, this.target, votes, this.quorum)
    this.send('all', msg)
    this.installNewView(msg, entries.map((e, i) => ({ ...e, sig: msg.pre[i]!.sig })), checkpoint)
  }

  private onNewView(m: NewView): void {
    if (m.view <= this.view) return this.drop(`new-view ${m.view}: ${m.view === this.view ? 'duplicate' : 'old view'}`)
    // After asking for view t, never go back to a lower one: our VIEW-CHANGE may already be in t's NEW-VIEW.
    if (this.changing && m.view < this.target) return this.drop(`new-view ${m.view}: below the view this replica changes to`)
    const primary = this.primaryOf(m.view)
    const r = checkNewView(this.rules, m, primary)
    if (!r.ok) {
      if (r.signed) this.fault(primary, r.error)
      return this.drop(`new-view ${m.view}: ${r.error}`)
    }
    this.installNewView(m, r.entries, r.checkpoint)
  }

  private installNewView(m: NewView, entries: Array<Reproposal & { sig: Uint8Array }>, checkpoint: CheckpointCertificate): void {
    this.view = m.view
    this.target = m.view
    this.changing = false
    this.vcDeadline = null
    this.viewStartedAt = this.now
    this.newView = m
    this.myViewChange = null
    this.persist(KEYS.view, viewRecord(this.view, this.view, false))
    this.persist(KEYS.newView, messageRecord(m))
    this.persist(KEYS.viewChange, null)
    for (const [r, vc] of this.viewChanges) if (vc.msg.view <= this.view) this.viewChanges.delete(r)
    this.waiting.clear()
    this.onStableCert(checkpoint)
    for (const e of entries) {
      if (!this.inWindow(e.seq)) continue
      // The batch may be held from an earlier view (its proposal, prepared certificate or commit); else it is fetched.
      const key = keyOf(e.digest)
      const held = key === NULL_HELD.key ? NULL_HELD : (this.log.peek(e.seq)?.batchFor(key) ?? null)
      // Its requests are waited on from now (a fetched batch's once it arrives, see supplyBatch).
      if (held !== null && e.seq > this.lastDelivered) this.learn(held.batch.requests, held.requestKeys)
      this.installProposal(e.seq, e.digest, e.sig, held, e.holders)
    }
  }

  // ---- restart -------------------------------------------------------------------------

  /** Rebuilds the voting state from records, so nothing sent after a restart contradicts what was sent before. */
  private restore(r: Restored): void {
    this.view = r.view
    this.target = r.target
    this.changing = r.changing
    if (r.stable !== null) this.stable = r.stable
    if (r.newView?.view === r.view) this.newView = r.newView
    if (r.changing && r.viewChange?.view === r.target) {
      this.myViewChange = digestViewChange(this.d, r.viewChange)
      this.viewChanges.set(this.id, this.myViewChange)
    }
    const primary = this.primaryOf(this.view)
    for (const pp of r.proposals) {
      if (!this.inWindow(pp.seq)) continue
      const slot = this.log.at(pp.seq, pp.view)
      slot.ppRecord = true
      if (pp.view !== this.view) continue
      const { digest } = pp
      const key = keyOf(digest)
      slot.pp = { digest, key, sig: pp.sig }
      slot.prepares.set(primary, { digest, key, sig: pp.sig })
      if (primary !== this.id) slot.prepares.set(this.id, { digest, key, sig: this.crypto.sign(prepareSignBytes(this.d, pp.view, pp.seq, digest)) })
    }
    for (const pc of r.prepared) {
      if (!this.inWindow(pc.seq)) continue
      const slot = this.log.peek(pc.seq) ?? this.log.at(pc.seq, pc.view)
      slot.prepared = pc
      slot.pcRecord = true
      if (slot.pp !== null && slot.view === pc.view) this.restoreOwnCommit(slot)
    }
    // Batch records outlive their slot only below the window (its deletion and the checkpoint are one write).
    for (const b of r.batches) {
      const slot = this.log.peek(b.seq)
      if (slot === undefined) continue
      const digest = digestOf(b.batch)
      slot.batches.set(keyOf(digest), { batch: b.batch, digest, key: keyOf(digest), requestKeys: requestKeys(b.batch.requests) })
    }
    // A proposal voted for without its batch: fetched again (its PREPARE stands, so no other digest is voted for).
    for (const s of this.log.sorted()) if (s.pp !== null && s.view === this.view && !s.batches.has(s.pp.key)) this.want(s.seq, s.pp.digest, s.pp.key, [])
    for (const d of r.delivered) this.pool.markDelivered(d.seq, d.ids.map((id) => keyOf(id)))
  }

  /** Restores the COMMIT this replica already sent, for retransmission. */
  private restoreOwnCommit(slot: Slot): void {
    const pp = slot.pp!
    slot.commits.set(this.id, { digest: pp.digest, key: pp.key, sig: this.crypto.sign(commitSignBytes(this.d, slot.view, slot.seq, pp.digest)) })
    slot.sentCommit = true
  }
}
