import { concatBytes, encode, equalBytes, faultTolerance, quorumSize, sha256, toHex, type ConsensusParams, type SignDomain } from '@vigil/common'
import { commitCertError, verifyCheckpointCertificate } from '../certs.js'
import { decodeMessage, encodeMessage } from '../codec.js'
import type { Message } from '../messages.js'
import { Replica } from '../replica.js'
import { requestOf, type Delivery, type Input, type Ready, type ReplicaConfig, type Request, type StateTransferRequest } from '../types.js'
import { Adversary, BYZANTINE_KINDS, Collusion, type ByzantineKind } from './byzantine.js'
import { MessageBudget, messageBudget } from './budget.js'
import { Checker, SimFailure, nextState, type Executed, type FailureKind } from './checker.js'
import { simCrypto, simSecrets } from './crypto.js'
import { partialRequestOf, withPartialRequestIds } from './planted.js'
import { Prng } from './prng.js'
import { EventQueue, type Timed } from './queue.js'
import { Trace, describeBytes, describeMessage } from './trace.js'

export interface SimOptions {
  seed: number
  /** Replicas (any n >= 4, not only 3f+1); drawn from the seed among 4 to 10 when absent. */
  n?: number
  /** Byzantine replicas (capped at f); drawn from the seed when absent. */
  byzantine?: number
  /** What every Byzantine replica does; drawn from the seed (about half of all kinds each) when absent. */
  kinds?: readonly ByzantineKind[]
  /** TESTS ONLY: the planted bug of a wrong quorum size, passed to every replica as unsafeQuorumOverride. */
  quorumOverride?: number
  /**
   * TESTS ONLY: the planted bug of request ids that leave part of the payload out (the old rule):
   * the simulated node derives every id that way, for clients and for decoded messages. Crashes
   * are off, since a restarted replica decodes its records under the true rule.
   */
  partialRequestIds?: boolean
  /** One side of a network split held for the whole chaos phase, instead of random partitions. */
  split?: readonly number[]
  /** Trace lines kept for a failure report. */
  traceLength?: number
}

export interface SimResult {
  seed: number
  n: number
  byzantine: Array<{ replica: number; kinds: ByzantineKind[] }>
  requests: number
  messages: number
  /** Highest view reached by an honest replica. */
  views: number
  transfers: number
  restarts: number
  simTimeMs: number
  failure: { kind: FailureKind; detail: string; trace: string[] } | null
}

interface SimNode {
  id: number
  replica: Replica | null
  /** Survives crashes: what the replica persisted. */
  store: Map<string, Uint8Array>
  /** Executed blocks: [0] is genesis. */
  history: Array<Executed & { blockHash: Uint8Array }>
  adversary: Adversary | null
  /** Bumped on crash, so the old tick chain stops. */
  epoch: number
  clockSkewMs: number
}

interface SimEvent extends Timed {
  run: () => void
}

const TICK_MS = 5
const LIVENESS_MS = 60_000
const LIVENESS_CHECK_MS = 50
const RESUBMIT_MS = 700
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024
const MIN_N = 4
const MAX_N = 10
/** Clients sign their requests with keys of their own, so a censor can single one out. */
const CLIENTS = 3
const clientOf = (payload: Uint8Array): number => payload[0] ?? CLIENTS

/**
 * A deterministic cluster: n replicas, a lossy network, crashes, partitions, a slow replica,
 * Byzantine replicas, clients. Plays the node's role (persists, sends, executes, transfers
 * state). A chaos phase (after a steady opening on a healthy network, when drawn) is followed
 * by a healed phase in which every request must be executed by every honest replica. Every
 * random choice comes from the seed.
 */
export class Simulation {
  private readonly rng: Prng
  private readonly net: Prng
  private readonly queue = new EventQueue<SimEvent>()
  private readonly nodes: SimNode[]
  private readonly n: number
  private readonly f: number
  private readonly honest: number[]
  private readonly params: ConsensusParams
  private readonly domain: SignDomain = { chainId: 'vigil-sim', validatorsHash: sha256(encode(['vigil-sim-validators'])) }
  private readonly secrets: Uint8Array[]
  private readonly clientSecrets: Uint8Array[]
  private readonly quorum: number
  private readonly checker: Checker
  private readonly budget: MessageBudget
  private readonly trace: Trace
  private readonly byzantine: Array<{ replica: number; kinds: ByzantineKind[] }> = []
  private readonly chaos: { ms: number; drop: number; dup: number; delayMaxMs: number; crashes: boolean; partitions: boolean; midStepCrash: number }
  private readonly slow: { replica: number; extraMs: number } | null
  private readonly requestCount: number
  /**
   * An opening phase on a healthy network before the chaos: clients submit steadily for `ms`, and
   * each request submitted before `ms - deadlineMs` must be executed by some honest replica within
   * `deadlineMs` (a primary that censors one client while proposing the others' is seen only under
   * steady traffic; sparse requests let a request timer fire between batches).
   */
  private readonly steady: { ms: number; deadlineMs: number } | null
  private readonly steadyPending = new Map<string, { at: number; request: Request }>()
  /** The chaos phase: from the end of the opening phase (if any) for chaos.ms. */
  private readonly chaosStart: number
  private readonly chaosEnd: number
  private now = 0
  /** Drops, duplicates, crashes and partitions happen only in the chaos phase. */
  private chaotic: boolean
  private done = false
  private partition: ReadonlySet<number> | null = null
  private stats = { messages: 0, transfers: 0, restarts: 0 }

  constructor(private readonly opts: SimOptions) {
    const rng = new Prng(opts.seed)
    this.rng = rng
    this.net = rng.fork()
    this.n = opts.n ?? rng.range(MIN_N, MAX_N)
    this.f = faultTolerance(this.n)
    const k = rng.range(2, 5)
    this.params = {
      batchMaxCount: rng.range(1, 8), batchMaxBytes: 64 * 1024, batchTimeoutMs: TICK_MS, checkpointInterval: k,
      watermarkWindow: k * rng.range(2, 4), viewChangeTimeoutMs: rng.range(100, 300), maxClockSkewMs: 500,
    }
    this.secrets = simSecrets(this.n, opts.seed)
    this.clientSecrets = Array.from({ length: CLIENTS }, (_, c) => sha256(encode(['vigil-sim-client', opts.seed, c])))
    this.quorum = opts.quorumOverride ?? quorumSize(this.n)
    const verify = simCrypto(0, this.secrets).verify
    this.checker = new Checker(this.n, (c) => commitCertError(c, this.domain, this.n, verify, this.quorum))
    this.trace = new Trace(opts.traceLength ?? 80)
    this.budget = new MessageBudget(this.n, messageBudget(this.params))
    const b = Math.min(opts.byzantine ?? rng.int(this.f + 1), this.f)
    const ids = Array.from({ length: this.n }, (_, i) => i)
    const bad = new Set<number>()
    while (bad.size < b) bad.add(rng.pick(ids))
    this.honest = ids.filter((i) => !bad.has(i))
    const collusion = new Collusion(rng.int(CLIENTS), opts.seed)
    const genesis = sha256(encode(['vigil-sim-genesis', opts.seed]))
    this.nodes = ids.map((id) => {
      let adversary: Adversary | null = null
      if (bad.has(id)) {
        const drawn = BYZANTINE_KINDS.filter(() => rng.chance(0.5))
        if (drawn.length === 0) drawn.push(rng.pick(BYZANTINE_KINDS))
        // Drawn either way, so a seed's other draws do not depend on the option.
        const kinds = opts.kinds !== undefined ? [...opts.kinds] : drawn
        this.byzantine.push({ replica: id, kinds })
        adversary = new Adversary(id, this.n, new Set(kinds), simCrypto(id, this.secrets), this.domain, k, rng.fork(), collusion, clientOf)
      }
      const history = [{ digest: genesis, blockHash: genesis, ids: [], payloads: [], state: genesis }]
      return { id, replica: null, store: new Map(), history, adversary, epoch: 0, clockSkewMs: rng.range(0, 40) }
    })
    const crashable = opts.partialRequestIds !== true
    this.chaos = {
      ms: rng.range(1500, 4000), drop: rng.float() * 0.15, dup: rng.float() * 0.1, delayMaxMs: rng.range(2, 40),
      crashes: rng.chance(0.6) && crashable, partitions: rng.chance(0.5), midStepCrash: rng.chance(0.3) && crashable ? 0.002 : 0,
    }
    this.slow = rng.chance(0.4) ? { replica: rng.pick(this.honest), extraMs: rng.range(10, 80) } : null
    this.requestCount = rng.range(5, 40)
    const censors = this.byzantine.some((x) => x.kinds.includes('censor'))
    // Each Byzantine primary in a row may cost a request timeout (up to 8 base timeouts) and a view change.
    const deadlineMs = (this.byzantine.length + 1) * 10 * this.params.viewChangeTimeoutMs
    // Traffic outlasts the deadline of the first requests, so a censored one is still overdue while others flow.
    this.steady = rng.chance(0.1) || censors ? { ms: deadlineMs + 1000, deadlineMs } : null
    this.chaosStart = this.steady?.ms ?? 0
    this.chaosEnd = this.chaosStart + this.chaos.ms
    this.chaotic = this.chaosStart === 0
  }

  run(): SimResult {
    let failure: SimResult['failure'] = null
    try {
      this.setup()
      while (!this.done) {
        const e = this.queue.pop()
        if (e === undefined) throw new SimFailure('liveness', 'no events left')
        this.now = e.at
        e.run()
      }
    } catch (err) {
      if (!(err instanceof SimFailure)) throw err
      failure = { kind: err.kind, detail: err.message, trace: this.trace.lines() }
    }
    const views = Math.max(...this.honest.map((i) => this.nodes[i]!.replica?.status().view ?? 0))
    return {
      seed: this.opts.seed, n: this.n, byzantine: this.byzantine, requests: this.checker.submittedCount, messages: this.stats.messages,
      views, transfers: this.stats.transfers, restarts: this.stats.restarts, simTimeMs: this.now, failure,
    }
  }

  // ---- set-up and phases -------------------------------------------------------------

  private at(t: number, run: () => void): void {
    this.queue.push({ at: t, run })
  }

  private setup(): void {
    for (const node of this.nodes) this.boot(node)
    if (this.steady !== null) this.openSteadily(this.steady)
    this.at(this.chaosStart, () => void (this.chaotic = true))
    for (let i = 0; i < this.requestCount; i++) this.at(this.chaosStart + this.rng.int(Math.floor(this.chaos.ms * 0.9)), () => void this.submit())
    if (this.opts.split !== undefined) this.holdSplit(new Set(this.opts.split))
    else if (this.chaos.partitions) this.schedulePartitions()
    if (this.chaos.crashes) this.scheduleCrashes()
    this.at(this.chaosEnd, () => this.heal())
    this.at(this.chaosEnd + LIVENESS_MS, () => {
      throw new SimFailure('liveness', `${this.checker.missing(this.honest)} request executions missing ${LIVENESS_MS} ms after the network healed`)
    })
  }

  private heal(): void {
    this.chaotic = false
    this.partition = null
    this.trace.add(this.now, () => `network healed`)
    for (const node of this.nodes) if (node.replica === null) this.restart(node)
    const check = (): void => {
      if (this.checker.missing(this.honest) === 0) this.done = true
      else this.at(this.now + LIVENESS_CHECK_MS, check)
    }
    check()
  }

  /**
   * Clients submit a request every `gap` to 2 `gap` ms. `gap` keeps the load at half the
   * cluster's capacity (batchMaxCount requests per batch of about 3 hops: PRE-PREPARE, PREPARE,
   * COMMIT), so no backlog builds up, and where that allows, far below a request timeout (at
   * least one view-change timeout), so batches of the clients not censored never leave a request
   * timer a gap to fire in.
   */
  private openSteadily(steady: { ms: number; deadlineMs: number }): void {
    this.trace.add(0, () => `steady traffic on a healthy network until ${steady.ms}`)
    const hop = this.chaos.delayMaxMs + (this.slow?.extraMs ?? 0)
    const gap = Math.ceil(Math.max((2 * (3 * hop + 2 * TICK_MS)) / this.params.batchMaxCount, this.params.viewChangeTimeoutMs / 10))
    for (let t = TICK_MS; t < steady.ms; t += gap + this.rng.int(gap)) {
      this.at(t, () => {
        const request = this.submit()
        if (this.now < steady.ms - steady.deadlineMs) this.steadyPending.set(toHex(request.id), { at: this.now, request })
      })
    }
    const check = (): void => {
      this.checkSteady()
      if (this.now < steady.ms) this.at(this.now + LIVENESS_CHECK_MS, check)
    }
    this.at(LIVENESS_CHECK_MS, check)
  }

  private checkSteady(): void {
    for (const [k, p] of this.steadyPending) {
      if (this.checker.executedAnywhere(this.honest, p.request.id)) this.steadyPending.delete(k)
      else if (this.now - p.at > this.steady!.deadlineMs) {
        throw new SimFailure('liveness', `request ${k.slice(0, 16)} of client ${clientOf(p.request.payload)} submitted at ${p.at} under steady traffic not executed by any honest replica within ${this.steady!.deadlineMs} ms`)
      }
    }
  }

  /** The network split in two for the whole chaos phase. */
  private holdSplit(side: ReadonlySet<number>): void {
    this.at(this.chaosStart, () => {
      this.partition = side
      this.trace.add(this.now, () => `partition {${[...side].join(',')}} | rest until healed`)
    })
  }

  private schedulePartitions(): void {
    for (let t = this.chaosStart + this.rng.range(50, 500); t < this.chaosEnd; t += this.rng.range(200, 1200)) {
      const side = new Set(this.honest.concat(this.byzantine.map((b) => b.replica)).filter(() => this.rng.chance(0.4)))
      const end = t + this.rng.range(50, 800)
      this.at(t, () => {
        if (!this.chaotic || side.size === 0 || side.size === this.n) return
        this.partition = side
        this.trace.add(t, () => `partition {${[...side].join(',')}} | rest`)
      })
      this.at(end, () => {
        if (this.partition === side) this.partition = null
      })
    }
  }

  private scheduleCrashes(): void {
    for (let t = this.chaosStart + this.rng.range(50, 500); t < this.chaosEnd; t += this.rng.range(100, 900)) {
      const node = this.nodes[this.rng.pick(this.honest)]!
      const down = this.rng.range(20, 600)
      this.at(t, () => {
        if (!this.chaotic || node.replica === null || this.crashedCount() >= this.f) return
        this.crash(node)
        this.at(Math.min(t + down, this.chaosEnd), () => {
          if (node.replica === null) this.restart(node)
        })
      })
    }
  }

  private crashedCount(): number {
    return this.nodes.filter((x) => x.replica === null).length
  }

  // ---- the node's role ---------------------------------------------------------------

  private config(id: number): ReplicaConfig {
    return {
      id, n: this.n, params: this.params, domain: this.domain, crypto: simCrypto(id, this.secrets),
      validateRequest: (r) => this.validRequest(r), unsafeQuorumOverride: this.opts.quorumOverride,
    }
  }

  private boot(node: SimNode): void {
    const records = [...node.store].map(([key, value]) => ({ key, value }))
    node.replica = new Replica(this.config(node.id), records)
    const head = node.history.length - 1
    this.step(node, { type: 'stateTransferred', seq: head, blockHash: node.history[head]!.blockHash })
    const epoch = node.epoch
    const tick = (): void => {
      if (node.epoch !== epoch || node.replica === null) return
      this.step(node, { type: 'tick', now: this.now + node.clockSkewMs })
      if (node.adversary !== null) for (const o of node.adversary.noise(this.now)) this.post(node.id, o.to, o.bytes)
      this.at(this.now + TICK_MS, tick)
    }
    this.at(this.now + this.rng.int(TICK_MS), tick)
  }

  private crash(node: SimNode): void {
    node.replica = null
    node.epoch++
    this.trace.add(this.now, () => `r${node.id} crashes`)
  }

  private restart(node: SimNode): void {
    this.stats.restarts++
    const height = node.history.length - 1
    this.trace.add(this.now, () => `r${node.id} restarts at height ${height}`)
    this.boot(node)
  }

  private step(node: SimNode, input: Input): void {
    if (node.replica === null) return
    this.apply(node, node.replica.step(input))
  }

  /** Persist, then send, then execute: the order the node follows. */
  private apply(node: SimNode, ready: Ready): void {
    for (const p of ready.persist) {
      if (p.value === null) node.store.delete(p.key)
      else node.store.set(p.key, p.value)
    }
    if (this.chaotic && ready.send.length > 0 && node.adversary === null && this.crashedCount() < this.f && this.rng.chance(this.chaos.midStepCrash)) {
      this.trace.add(this.now, () => `r${node.id} crashes after persisting, before sending`)
      return this.crash(node)
    }
    for (const s of ready.send) this.transmit(node, s.to, s.msg)
    for (const d of ready.deliver) this.execute(node, d)
    if (ready.stateTransfer !== null) this.requestTransfer(node, ready.stateTransfer)
  }

  private isHonest(id: number): boolean {
    return this.nodes[id]!.adversary === null
  }

  /** Executes exactly the delivered bytes; the block hash covers the state after them, as a real header's state root does. */
  private execute(node: SimNode, d: Delivery): void {
    const ids = d.batch.requests.map((r) => r.id)
    const payloads = d.batch.requests.map((r) => r.payload)
    this.trace.add(this.now, () => `r${node.id} delivers s${d.seq} v${d.view} d=${toHex(d.digest).slice(0, 8)} ${ids.length} req`)
    const prev = node.history[node.history.length - 1]!
    const block = { digest: d.digest, ids, payloads, state: nextState(prev.state, payloads) }
    if (this.isHonest(node.id)) this.checker.block(node.id, d.seq, node.history.length, block, d.cert)
    else this.checker.record(node.id, ids)
    const blockHash = sha256(encode([prev.blockHash, d.digest, block.state]))
    node.history.push({ ...block, blockHash })
    this.step(node, { type: 'executed', seq: d.seq, blockHash, now: this.now })
  }

  /** The node's sync: verify the certificate, copy an honest replica's blocks, report. */
  private requestTransfer(node: SimNode, req: StateTransferRequest): void {
    verifyCheckpointCertificate(req.cert, this.domain, this.n, simCrypto(0, this.secrets).verify, this.quorum)
    this.at(this.now + this.net.range(5, 50), () => {
      if (node.replica === null || node.history.length > req.seq) return
      const source = this.honest.map((i) => this.nodes[i]!).find((s) => s.history.length > req.seq && equalBytes(s.history[req.seq]!.blockHash, req.blockHash))
      if (source === undefined) return
      this.stats.transfers++
      this.trace.add(this.now, () => `r${node.id} state transfer to s${req.seq} from r${source.id}`)
      for (let s = node.history.length; s <= req.seq; s++) {
        const block = source.history[s]!
        if (this.isHonest(node.id)) this.checker.block(node.id, s, s, block, null)
        else this.checker.record(node.id, block.ids)
        node.history.push(block)
      }
      this.step(node, { type: 'stateTransferred', seq: req.seq, blockHash: req.blockHash })
    })
  }

  // ---- network -----------------------------------------------------------------------

  private transmit(node: SimNode, to: number | 'all', msg: Message): void {
    if (node.adversary !== null) {
      for (const o of node.adversary.outgoing(to, msg)) this.post(node.id, o.to, o.bytes)
      return
    }
    const bytes = encodeMessage(msg)
    if (to !== 'all') return this.post(node.id, to, bytes)
    for (let t = 0; t < this.n; t++) if (t !== node.id) this.post(node.id, t, bytes)
  }

  private post(from: number, to: number, bytes: Uint8Array): void {
    this.stats.messages++
    if (this.isHonest(from)) this.budget.count(from, to, this.now)
    if (this.partition !== null && this.partition.has(from) !== this.partition.has(to)) return
    const chaotic = this.chaotic
    if (chaotic && this.net.chance(this.chaos.drop)) return
    const copies = chaotic && this.net.chance(this.chaos.dup) ? 2 : 1
    for (let c = 0; c < copies; c++) {
      let delay = this.net.range(1, this.chaos.delayMaxMs)
      if (this.slow !== null && (this.slow.replica === from || this.slow.replica === to)) delay += this.slow.extraMs
      this.at(this.now + delay, () => this.receive(from, to, bytes))
    }
  }

  private receive(from: number, to: number, bytes: Uint8Array): void {
    const node = this.nodes[to]!
    if (node.replica === null) return
    node.adversary?.observe(bytes)
    let msg: Message
    try {
      msg = decodeMessage(bytes, MAX_MESSAGE_BYTES)
      if (this.opts.partialRequestIds === true) msg = withPartialRequestIds(msg)
    } catch {
      this.trace.add(this.now, () => `r${from} -> r${to} ${describeBytes(bytes)} (dropped by the node)`)
      return
    }
    this.trace.add(this.now, () => `r${from} -> r${to} ${describeMessage(msg)}`)
    this.step(node, { type: 'message', from, msg })
  }

  // ---- clients -----------------------------------------------------------------------

  private requestOf(payload: Uint8Array): Request {
    return this.opts.partialRequestIds === true ? partialRequestOf(payload) : requestOf(payload)
  }

  /** payload = client(1) || nonce(8) || mac(8) || padding; id = sha256(payload). Only the client knows its MAC key. */
  private validRequest(r: Request): boolean {
    const secret = this.clientSecrets[clientOf(r.payload)]
    if (secret === undefined || r.payload.byteLength < 17 || !equalBytes(this.requestOf(r.payload).id, r.id)) return false
    return equalBytes(this.mac(secret, r.payload.subarray(1, 9)), r.payload.subarray(9, 17))
  }

  private mac(secret: Uint8Array, nonce: Uint8Array): Uint8Array {
    return sha256(concatBytes(secret, nonce)).subarray(0, 8)
  }

  private submit(): Request {
    const client = this.rng.int(CLIENTS)
    const nonce = this.rng.bytes(8)
    const payload = concatBytes(Uint8Array.of(client), nonce, this.mac(this.clientSecrets[client]!, nonce), this.rng.bytes(this.rng.int(48)))
    const request = this.requestOf(payload)
    this.checker.submit(request.id, request.payload)
    this.trace.add(this.now, () => `client ${client} submits ${toHex(request.id).slice(0, 8)}`)
    this.gossip(request)
    return request
  }

  /** Mempool gossip: every live replica gets the request, again and again until some honest replica executed it. */
  private gossip(request: Request): void {
    if (this.checker.executedAnywhere(this.honest, request.id)) return
    for (const node of this.nodes) {
      this.at(this.now + this.net.range(0, 10), () => {
        // The node's mempool checks its tx index: an executed request is never fed again.
        if (node.replica === null || this.checker.hasExecuted(node.id, request.id) || node.adversary?.admits(request) === false) return
        this.step(node, { type: 'request', request })
      })
    }
    this.at(this.now + RESUBMIT_MS, () => this.gossip(request))
  }
}

export function runSimulation(opts: SimOptions): SimResult {
  return new Simulation(opts).run()
}
