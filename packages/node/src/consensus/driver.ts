import { performance } from 'node:perf_hooks'
import { encodeMessage, type Delivery, type Input, type Ready, type Replica, type StateTransferRequest } from '@vigil/consensus'
import type { LedgerStore } from '@vigil/storage'
import type { Logger } from '../log.js'
import type { Metrics } from '../metrics.js'
import type { Channel } from '../p2p/channel.js'
import type { Misbehaviour } from '../misbehaviour.js'

export interface DriverHooks {
  /** Executes and commits a delivered batch; returns the new block's header hash. */
  execute(d: Delivery): Promise<Uint8Array>
  /** The core saw a stable checkpoint beyond its window: fetch blocks up to it. */
  stateTransfer(req: StateTransferRequest): void
  /** An unrecoverable error (divergence, storage failure): the peer must stop, not guess. */
  halt(err: unknown): void
  /** TESTS ONLY (see misbehaviour.ts): a Byzantine harness rewrites what is sent and which requests reach the core. */
  misbehaviour?: Pick<Misbehaviour, 'outgoing' | 'admitRequest'>
}

/** Bounds on the messages held while paused: a few seconds of traffic at full load. */
const HELD_MAX_MESSAGES = 8192
const HELD_MAX_BYTES = 64 * 1024 * 1024

/**
 * The longest time between two ticks, whatever the core's next deadline: the ticks' `now` is the
 * core's clock, which stamps arriving requests, and this bounds how stale it gets.
 */
const MAX_TICK_GAP_MS = 50

/** Inputs stepped before their Readys are applied together (see #pump): bounds a round's latency. */
const STEPS_PER_ROUND = 256

/** Readys of consecutive steps as one, in step order; only the last can deliver or ask for a transfer. */
function mergeReadys(readys: Ready[]): Ready {
  const last = readys[readys.length - 1]!
  return {
    persist: readys.flatMap((r) => r.persist),
    send: readys.flatMap((r) => r.send),
    deliver: last.deliver,
    stateTransfer: last.stateTransfer,
    faults: readys.flatMap((r) => r.faults),
    dropped: readys.flatMap((r) => r.dropped),
    viewChange: readys.findLast((r) => r.viewChange !== null)?.viewChange ?? null,
  }
}

/** performance.now() after each part of a step, for the trace. */
interface ApplyTimes {
  stepped: number
  persisted: number
  executed: number
}

/**
 * The one place where the pure PBFT core meets the world. Inputs are queued and stepped one
 * at a time; each Ready is applied in the order the core requires (etcd raft's Ready
 * contract): persist durably, then send, then execute deliveries and feed 'executed' back
 * before any other input.
 */
export class ConsensusDriver {
  readonly #queue: Input[] = []
  #running = false
  #stopped = false
  #tickQueued = false
  #paused = false
  #idle: Promise<void> = Promise.resolve()
  #view = -1
  readonly #trace: boolean
  /** Messages that arrived while paused, oldest first (see push). */
  #held: Array<{ input: Input; bytes: number }> = []
  #heldBytes = 0
  /** Shortest time between ticks (0: ticks are not scheduled by the driver; see startTicks). */
  #tickMinMs = 0
  #tickTimer: NodeJS.Timeout | undefined
  /** Clock reading the pending tick timer fires at. */
  #tickAt = Infinity

  constructor(
    private readonly replica: Replica,
    private readonly store: LedgerStore,
    private readonly pbft: Channel,
    private readonly hooks: DriverHooks,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    /** The clock the node's ticks use: execution reports when it finished on it. */
    private readonly clock: () => number = Date.now,
  ) {
    this.#trace = log.isLevelEnabled('trace')
  }

  #traceStep(input: Input, ready: Ready, t0: number, t: ApplyTimes): void {
    const ms = (a: number, b: number) => Number((b - a).toFixed(2))
    this.log.trace(
      {
        at: Number((performance.timeOrigin + t0).toFixed(2)),
        ms: ms(t0, performance.now()),
        // Where the step's time went: the core, the durable write (queueing included), execution.
        coreMs: ms(t0, t.stepped),
        persistMs: ms(t.stepped, t.persisted),
        executeMs: ms(t.persisted, t.executed),
        input: input.type === 'message' ? `${input.msg.type}<-${input.from}` : input.type,
        persist: ready.persist.length,
        send: ready.send.map((s) => `${s.msg.type}->${s.to}`),
        deliver: ready.deliver.map((d) => d.seq),
        dropped: ready.dropped.map((d) => d.reason),
      },
      'step',
    )
  }

  get status() {
    return this.replica.status()
  }

  /**
   * Queues an input; the queue is bounded by what feeds it (channel queues, mempool, ticks).
   * `bytes`: a message's frame size, for the bound on messages held during a pause.
   */
  push(input: Input, bytes = 0): void {
    if (this.#stopped) return
    if (input.type === 'request' && this.hooks.misbehaviour?.admitRequest?.(input.request) === false) return
    // While block sync owns the store, requests may be committed by the blocks being synced:
    // the node re-feeds its pruned mempool on resume instead. Messages are held (the newest,
    // bounded) and stepped after the new height: they carry the votes for the blocks made while
    // the sync ran its last round, which the core would otherwise ask for again, a few blocks per
    // status round trip, and a checkpoint passing it meanwhile meant another sync.
    if (this.#paused) {
      if (input.type === 'message') this.#hold(input, bytes)
      return
    }
    if (input.type === 'tick') {
      // Ticks carry the current time; one pending tick is enough.
      if (this.#tickQueued) return
      this.#tickQueued = true
    }
    this.#queue.push(input)
    this.#kick()
  }

  /**
   * Ticks the core at its next deadline (a batch falling due, a timeout, a retransmission), no
   * sooner than minMs after the previous tick and no later than MAX_TICK_GAP_MS: an idle peer
   * wakes ~20 times a second instead of on a fixed short period.
   */
  startTicks(minMs: number): void {
    this.#tickMinMs = minMs
    this.#scheduleTick()
  }

  #scheduleTick(): void {
    if (this.#tickMinMs === 0 || this.#stopped || this.#paused) return
    const now = this.clock()
    const delay = Math.min(MAX_TICK_GAP_MS, Math.max(this.#tickMinMs, this.replica.nextDeadline() - now))
    if (now + delay >= this.#tickAt) return
    clearTimeout(this.#tickTimer)
    this.#tickAt = now + delay
    this.#tickTimer = setTimeout(() => {
      this.#tickAt = Infinity
      this.push({ type: 'tick', now: this.clock() })
    }, delay)
  }

  /** No more ticks (a halted peer); inputs are still taken. */
  stopTicks(): void {
    this.#tickMinMs = 0
    clearTimeout(this.#tickTimer)
    this.#tickAt = Infinity
  }

  /** Starts a pump after the current task, so that inputs pushed together (one socket read's frames) are stepped as one round. */
  #kick(): void {
    if (this.#running) return
    this.#running = true
    this.#idle = Promise.resolve().then(() => this.#pump())
  }

  #hold(input: Input, bytes: number): void {
    this.#held.push({ input, bytes })
    this.#heldBytes += bytes
    while (this.#held.length > HELD_MAX_MESSAGES || this.#heldBytes > HELD_MAX_BYTES) this.#heldBytes -= this.#held.shift()!.bytes
  }

  /** Stops stepping (block sync is about to write blocks); resolves once the step in hand is done. */
  async pause(): Promise<void> {
    this.#paused = true
    await this.#idle
  }

  /**
   * Steps again: first how far the ledger now reaches, then the current time (no ticks reached
   * the core while paused), then the messages held meanwhile, then the still-pending requests,
   * stamped with that time (with a stale clock they would look overdue and start a needless
   * view change). The ledger comes before the clock: a tick on the old height would find the
   * transfer it asked for overdue and ask again, pausing consensus for another sync before the
   * core heard of this one. A peer lagging under load then chased the tip by block sync forever
   * and never voted again.
   */
  resume(seq: number, blockHash: Uint8Array, pending: Iterable<Input>, now: number): void {
    this.#paused = false
    this.#queue.length = 0
    this.#tickQueued = false
    this.#queue.push({ type: 'stateTransferred', seq, blockHash }, { type: 'tick', now }, ...this.#held.map((h) => h.input), ...pending)
    this.#held = []
    this.#heldBytes = 0
    this.#kick()
  }

  /** Stops taking inputs and waits for the step in hand to finish (its block committed). */
  async stop(): Promise<void> {
    this.#stopped = true
    this.stopTicks()
    this.#queue.length = 0
    await this.#idle
  }

  /**
   * Steps the queued inputs in rounds: every input queued when a round starts (up to
   * STEPS_PER_ROUND) is stepped, and their Readys are applied as one, so a burst of votes costs
   * one durable write and one fsync instead of one each (etcd raft's Ready batches the same way).
   * Persist-before-send still holds for every step. A round ends at a step that delivers or asks
   * for a transfer: the core must hear 'executed' (and the node must sync) before anything else.
   */
  async #pump(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#stopped && !this.#paused) {
        const t0 = performance.now()
        const steps: Array<{ input: Input; ready: Ready }> = []
        do {
          const input = this.#queue.shift()!
          if (input.type === 'tick') this.#tickQueued = false
          const ready = this.replica.step(input)
          steps.push({ input, ready })
          if (ready.deliver.length > 0 || ready.stateTransfer !== null) break
        } while (this.#queue.length > 0 && steps.length < STEPS_PER_ROUND)
        const times = await this.#apply(steps.length === 1 ? steps[0]!.ready : mergeReadys(steps.map((s) => s.ready)))
        if (this.#trace) for (const { input, ready } of steps) if (input.type !== 'tick') this.#traceStep(input, ready, t0, times)
      }
    } catch (err) {
      this.#stopped = true
      this.hooks.halt(err)
    } finally {
      this.#running = false
      this.#scheduleTick()
    }
  }

  async #apply(ready: Ready): Promise<ApplyTimes> {
    const stepped = performance.now()
    // Persist before send: a vote must be durable before it leaves, or a restarted peer could vote
    // twice. A step that sends nothing (a commit quorum noting the requests it delivers, a
    // checkpoint pruning the log) skips the fsync, one of three per block: its write survives a
    // process crash, and losing it to a power cut costs nothing. Pruned records come back as
    // garbage, and a request re-proposed for want of its delivered record gets a CONFLICT result
    // from the ledger's tx index on every peer. Clients hear of commits only once the block's
    // own (synced) write is done.
    if (ready.persist.length > 0) await this.store.writeConsensus(ready.persist, { sync: ready.send.length > 0 })
    const persisted = performance.now()
    const outgoing = this.hooks.misbehaviour?.outgoing
    for (const { to, msg } of outgoing === undefined ? ready.send : ready.send.flatMap((s) => outgoing(s.to, s.msg))) {
      const frame = encodeMessage(msg)
      if (to === 'all') this.pbft.broadcast(frame)
      else this.pbft.send(to, frame)
    }
    const executed: Input[] = []
    for (const d of ready.deliver) executed.push({ type: 'executed', seq: d.seq, blockHash: await this.hooks.execute(d), now: this.clock() })
    const times = { stepped, persisted, executed: performance.now() }
    // 'executed' goes ahead of everything queued: the core needs the parent hash to go on.
    this.#queue.unshift(...executed)
    if (ready.stateTransfer !== null) this.hooks.stateTransfer(ready.stateTransfer)
    // Label by kind only ("prepare N: duplicate" -> "prepare duplicate"): sequence numbers would make labels unbounded.
    for (const d of ready.dropped) this.metrics.dropped.inc({ reason: d.reason.replace(/[0-9]+/g, '').replace(/\s*:\s*/, ' ').replace(/\s+/g, ' ').trim().slice(0, 60) })
    if (ready.viewChange !== null) this.log.info(ready.viewChange, 'starting a view change')
    this.#noteView()
    for (const f of ready.faults) {
      this.metrics.faults.inc({ replica: String(f.replica) })
      this.log.warn({ replica: f.replica, reason: f.reason }, 'peer misbehaved')
    }
    return times
  }

  #noteView(): void {
    const { view, primary } = this.replica.status()
    if (view === this.#view) return
    if (this.#view >= 0 && view > this.#view) {
      this.metrics.viewChanges.inc()
      this.log.info({ view, primary }, 'entered a new view')
    }
    this.#view = view
    this.metrics.view.set(view)
  }
}
