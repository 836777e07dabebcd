import { checkpointSignBytes, commitSignBytes, encode, equalBytes, sha256, type SignDomain } from '@vigil/common'
import { encodeMessage } from '../codec.js'
import { NULL_DIGEST, digestOf, prepareSignBytes, type Checkpoint, type Message, type NewView, type PrePrepare, type ViewChange } from '../messages.js'
import type { Batch, CheckpointCertificate, ReplicaCrypto, Request } from '../types.js'
import { buildNewView, buildViewChange, digestViewChange, newViewSignBytesOf } from '../viewchange.js'
import type { Prng } from './prng.js'

/**
 * Byzantine behaviours. A Byzantine replica runs the honest Replica inside and an Adversary
 * rewrites what it sends; it holds only its own key, so it can lie but not forge others' votes.
 *
 * substitute*: replaces request payloads and keeps the request ids (so batch digests and every
 * signature over them stay valid), in COMMITTED, PRE-PREPARE, and the BATCH answering a FETCH of a
 * batch named by a VIEW-CHANGE or NEW-VIEW; each target may get other bytes. doctor*: VIEW-CHANGEs that omit or alter prepared certificates
 * or carry a wrong checkpoint, NEW-VIEWs with altered re-proposals or built from a doctored
 * VIEW-CHANGE, re-signed with its own key. censor: as primary, never proposes the requests of one
 * client (the same for all colluders). lieStatus: STATUS claiming a far higher height.
 * lieCheckpoint: CHECKPOINTs for a wrong block hash or far sequence numbers. floodViewChange:
 * validly signed VIEW-CHANGEs for ever higher views on every tick. floodStatus: STATUS, several on every
 * tick, claiming to be at the last checkpoint in view 0, asking every helper for catch-up traffic.
 */
export type ByzantineKind =
  | 'equivocate' | 'doubleVote' | 'forge' | 'replay' | 'garbage' | 'silent'
  | 'substituteCommitted' | 'substitutePrePrepare' | 'substituteFetched'
  | 'doctorViewChange' | 'doctorNewView' | 'censor' | 'lieStatus' | 'lieCheckpoint' | 'floodViewChange' | 'floodStatus'
export const BYZANTINE_KINDS: readonly ByzantineKind[] = [
  'equivocate', 'doubleVote', 'forge', 'replay', 'garbage', 'silent',
  'substituteCommitted', 'substitutePrePrepare', 'substituteFetched',
  'doctorViewChange', 'doctorNewView', 'censor', 'lieStatus', 'lieCheckpoint', 'floodViewChange', 'floodStatus',
]

export interface Outgoing {
  to: number
  bytes: Uint8Array
}

const MAX_SHOWN = 4096
const REPLAY_BUFFER = 64
/** STATUS a flooder sends each peer per tick. */
const STATUS_FLOOD = 4
/** How far above the truth a lying STATUS claims to be. */
const STATUS_LIE = 1_000_000
const GENESIS_CHECKPOINT: CheckpointCertificate = { seq: 0, blockHash: new Uint8Array(32), sigs: [] }

/**
 * What colluding Byzantine replicas share: which digest an equivocating primary showed each
 * replica at (view, seq), so the others vote for exactly what each victim believes; which
 * client they censor; which wrong block hash they all sign at a checkpoint.
 */
export class Collusion {
  private readonly shown = new Map<string, Map<number, Uint8Array>>()

  constructor(readonly censoredClient: number, private readonly salt: number) {}

  record(view: number, seq: number, target: number, digest: Uint8Array): void {
    const key = `${view}/${seq}`
    let m = this.shown.get(key)
    if (m === undefined) {
      if (this.shown.size >= MAX_SHOWN) this.shown.delete(this.shown.keys().next().value as string)
      m = new Map()
      this.shown.set(key, m)
    }
    m.set(target, digest)
  }

  digestFor(view: number, seq: number, target: number): Uint8Array | undefined {
    return this.shown.get(`${view}/${seq}`)?.get(target)
  }

  wrongBlockHash(seq: number): Uint8Array {
    return sha256(encode(['vigil-sim-lie', this.salt, seq]))
  }
}

export class Adversary {
  private readonly replay: Uint8Array[] = []
  /** Highest view seen in its own traffic, and the VIEW-CHANGE floods' next view above it. */
  private view = 0
  private floodView = 0
  /** Its inner replica's latest checkpoint, about the others' low watermark: a STATUS claiming it draws the most catch-up traffic. */
  private checkpointed = 0

  constructor(
    readonly id: number,
    private readonly n: number,
    readonly kinds: ReadonlySet<ByzantineKind>,
    private readonly crypto: ReplicaCrypto,
    private readonly domain: SignDomain,
    private readonly checkpointInterval: number,
    private readonly prng: Prng,
    private readonly collusion: Collusion,
    /** Which client a payload belongs to (censorship needs to tell them apart). */
    private readonly clientOf: (payload: Uint8Array) => number,
  ) {}

  /** Remembers traffic for later replay. */
  observe(bytes: Uint8Array): void {
    if (!this.kinds.has('replay')) return
    if (this.replay.length >= REPLAY_BUFFER) this.replay.splice(this.prng.int(REPLAY_BUFFER), 1)
    this.replay.push(bytes)
  }

  /** False for a request its inner replica must never see: it cannot propose what it does not hold. */
  admits(r: Request): boolean {
    return !this.kinds.has('censor') || this.clientOf(r.payload) !== this.collusion.censoredClient
  }

  /** Rewrites one send of the inner (honest) replica. */
  outgoing(to: number | 'all', msg: Message): Outgoing[] {
    const k = this.kinds
    const targets = to === 'all' ? this.others() : [to]
    if (k.has('silent') && this.prng.chance(0.7)) return []
    if ('view' in msg) this.view = Math.max(this.view, msg.view)
    if (msg.type === 'checkpoint') this.checkpointed = Math.max(this.checkpointed, msg.seq)
    const out: Outgoing[] = []
    const alt = k.has('equivocate') && msg.type === 'preprepare' ? this.equivocal(msg) : null
    for (const t of targets) {
      let m: Message = msg
      if (alt !== null && (t + alt.view) % 2 === 0) m = alt
      if (m.type === 'preprepare') this.collusion.record(m.view, m.seq, t, digestOf(m.batch))
      if ((m.type === 'prepare' || m.type === 'commit') && (k.has('doubleVote') || k.has('equivocate'))) {
        const shown = this.collusion.digestFor(m.view, m.seq, t)
        if (shown !== undefined && !equalBytes(shown, m.digest)) m = this.vote(m.type, m.view, m.seq, shown)
        else if (k.has('doubleVote') && this.prng.chance(0.3)) out.push({ to: t, bytes: encodeMessage(this.vote(m.type, m.view, m.seq, this.prng.bytes(32))) })
      }
      m = this.lie(m, t)
      let bytes = encodeMessage(m)
      if (k.has('forge') && this.prng.chance(0.1)) bytes = this.flipSignatureByte(bytes)
      out.push({ to: t, bytes })
    }
    for (const o of out) this.observe(o.bytes)
    return out
  }

  /** Traffic of its own on a tick: garbage, replays, forged certificates, lies, floods. */
  noise(now: number): Outgoing[] {
    const out: Outgoing[] = []
    const to = this.others()[this.prng.int(this.n - 1)]!
    if (this.kinds.has('garbage') && this.prng.chance(0.05)) {
      const junk = this.replay.length > 0 && this.prng.chance(0.5) ? this.flipAnyByte(this.prng.pick(this.replay)) : this.prng.bytes(this.prng.range(0, 200))
      out.push({ to, bytes: junk })
    }
    if (this.kinds.has('replay') && this.replay.length > 0 && this.prng.chance(0.1)) out.push({ to, bytes: this.prng.pick(this.replay) })
    if (this.kinds.has('forge') && this.prng.chance(0.03)) out.push({ to, bytes: encodeMessage(this.forged(now)) })
    if (this.kinds.has('lieStatus') && this.prng.chance(0.2)) {
      out.push({ to, bytes: encodeMessage({ type: 'status', view: this.view, lastExecuted: STATUS_LIE + this.prng.int(STATUS_LIE) }) })
    }
    if (this.kinds.has('lieCheckpoint') && this.prng.chance(0.05)) {
      const seq = this.checkpointInterval * this.prng.range(1, 1_000_000)
      const blockHash = this.collusion.wrongBlockHash(seq)
      out.push({ to, bytes: encodeMessage({ type: 'checkpoint', seq, blockHash, sig: this.crypto.sign(checkpointSignBytes(this.domain, seq, blockHash)) }) })
    }
    if (this.kinds.has('floodViewChange') && this.prng.chance(0.5)) {
      this.floodView = Math.max(this.floodView, this.view) + 1 + this.prng.int(1000)
      const vc = buildViewChange(this.domain, this.crypto, this.floodView, this.id, GENESIS_CHECKPOINT, []).msg
      for (const t of this.others()) out.push({ to: t, bytes: encodeMessage(vc) })
    }
    if (this.kinds.has('floodStatus')) {
      const bytes = encodeMessage({ type: 'status', view: 0, lastExecuted: this.checkpointed })
      for (const t of this.others()) for (let i = 0; i < STATUS_FLOOD; i++) out.push({ to: t, bytes })
    }
    return out
  }

  private others(): number[] {
    return Array.from({ length: this.n }, (_, i) => i).filter((i) => i !== this.id)
  }

  /** The lies told to target `t` in one message, by kind. */
  private lie(m: Message, t: number): Message {
    const k = this.kinds
    switch (m.type) {
      case 'committed':
        return k.has('substituteCommitted') && this.prng.chance(0.7) ? { ...m, batch: this.substitute(m.batch, t) } : m
      case 'preprepare':
        return k.has('substitutePrePrepare') && this.prng.chance(0.5) ? { ...m, batch: this.substitute(m.batch, t) } : m
      case 'batch':
        return k.has('substituteFetched') && this.prng.chance(0.7) ? { ...m, batch: this.substitute(m.batch, t) } : m
      case 'viewchange':
        return k.has('doctorViewChange') && this.prng.chance(0.7) ? this.doctorViewChange(m) : m
      case 'newview':
        return k.has('doctorNewView') && this.prng.chance(0.7) ? this.doctorNewView(m) : m
      case 'status':
        return k.has('lieStatus') ? { ...m, lastExecuted: m.lastExecuted + STATUS_LIE + this.prng.int(STATUS_LIE) } : m
      case 'checkpoint':
        return k.has('lieCheckpoint') && this.prng.chance(0.5) ? this.wrongCheckpoint(m) : m
      default:
        return m
    }
  }

  /**
   * The same request ids with other bytes: a changed byte past the client's MAC (it still looks
   * like the client's own request), random bytes, or another request's payload. Target-dependent,
   * so different honest replicas may be handed different bytes.
   */
  private substitute(b: Batch, t: number): Batch {
    if (b.requests.length === 0) return b
    const requests = b.requests.map((r, i): Request => {
      const way = (t + i + this.prng.int(3)) % 3
      if (way === 0 && r.payload.byteLength > 17) {
        const payload = r.payload.slice()
        payload[17 + ((t + i) % (payload.byteLength - 17))]! ^= 1 + (t % 255)
        return { id: r.id, payload }
      }
      if (way === 1 || b.requests.length === 1) return { id: r.id, payload: this.prng.bytes(r.payload.byteLength) }
      return { id: r.id, payload: b.requests[(i + 1) % b.requests.length]!.payload }
    })
    return { time: b.time, parent: b.parent, requests }
  }

  /** Omits prepared certificates, alters one, or claims another checkpoint; signed again with its own key. */
  private doctorViewChange(vc: ViewChange): ViewChange {
    let prepared = vc.prepared
    let checkpoint = vc.checkpoint
    switch (this.prng.int(5)) {
      case 0: prepared = []; break
      case 1: prepared = prepared.filter(() => this.prng.chance(0.5)); break
      case 2: prepared = prepared.map((p) => (this.prng.chance(0.5) ? { ...p, view: p.view + 1 + this.prng.int(Math.max(1, vc.view - p.view)) } : p)); break
      case 3: prepared = prepared.map((p) => (this.prng.chance(0.5) ? { ...p, digest: sha256(p.digest) } : p)); break
      default: checkpoint = this.prng.chance(0.5) ? GENESIS_CHECKPOINT : { ...checkpoint, blockHash: this.collusion.wrongBlockHash(checkpoint.seq) }
    }
    return buildViewChange(this.domain, this.crypto, vc.view, vc.replica, checkpoint, prepared).msg
  }

  /**
   * A NEW-VIEW built again from its own VIEW-CHANGE doctored (a valid message honest replicas
   * must accept, whose O set may miss what only this liar reported), or one whose re-proposals
   * turn into null batches or lose their last entry (which honest replicas must refuse).
   */
  private doctorNewView(nv: NewView): NewView {
    if (this.prng.chance(0.5)) {
      const vcs = nv.viewChanges.map((vc) => digestViewChange(this.domain, vc.replica === this.id ? this.doctorViewChange(vc) : vc))
      return buildNewView(this.domain, this.crypto, nv.view, vcs, vcs.length).msg
    }
    const pre = this.prng.chance(0.5) ? nv.pre.slice(0, -1) : nv.pre.map((e) => (this.prng.chance(0.5) ? { seq: e.seq, digest: NULL_DIGEST, sig: this.crypto.sign(prepareSignBytes(this.domain, nv.view, e.seq, NULL_DIGEST)) } : e))
    const vcs = nv.viewChanges.map((vc) => digestViewChange(this.domain, vc))
    return { ...nv, pre, sig: this.crypto.sign(newViewSignBytesOf(this.domain, nv.view, vcs, pre)) }
  }

  /** A CHECKPOINT for the block hash all colluders agree to lie about. */
  private wrongCheckpoint(m: Checkpoint): Checkpoint {
    const blockHash = this.collusion.wrongBlockHash(m.seq)
    return { ...m, blockHash, sig: this.crypto.sign(checkpointSignBytes(this.domain, m.seq, blockHash)) }
  }

  /** A second, validly signed pre-prepare for the same (view, seq): one millisecond later, so its digest differs. */
  private equivocal(m: PrePrepare): PrePrepare {
    const batch = { ...m.batch, time: m.batch.time + 1 }
    return { ...m, batch, sig: this.crypto.sign(prepareSignBytes(this.domain, m.view, m.seq, digestOf(batch))) }
  }

  private vote(type: 'prepare' | 'commit', view: number, seq: number, digest: Uint8Array): Message {
    const bytes = type === 'prepare' ? prepareSignBytes(this.domain, view, seq, digest) : commitSignBytes(this.domain, view, seq, digest)
    return { type, view, seq, digest, sig: this.crypto.sign(bytes) }
  }

  /** Certificates claiming signatures of other replicas that it cannot make. */
  private forged(now: number): Message {
    const sigs = Array.from({ length: this.n }, (_, replica) => ({ replica, sig: replica === this.id ? this.crypto.sign(checkpointSignBytes(this.domain, 0, new Uint8Array(32))) : this.prng.bytes(64) }))
    const seq = this.prng.range(1, 64)
    if (this.prng.chance(0.5)) return { type: 'stable', cert: { seq, blockHash: this.prng.bytes(32), sigs } }
    const batch = { time: now, parent: this.prng.bytes(32), requests: [] }
    return { type: 'committed', batch, cert: { view: 0, seq, digest: digestOf(batch), sigs } }
  }

  private flipSignatureByte(bytes: Uint8Array): Uint8Array {
    const copy = bytes.slice()
    copy[copy.length - 1]! ^= 1
    return copy
  }

  private flipAnyByte(bytes: Uint8Array): Uint8Array {
    const copy = bytes.slice()
    if (copy.length > 0) copy[this.prng.int(copy.length)]! ^= 1 << this.prng.int(8)
    return copy
  }
}
