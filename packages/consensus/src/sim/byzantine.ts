import { checkpointSignBytes, commitSignBytes, equalBytes, type SignDomain } from '@vigil/common'
import { encodeMessage } from '../codec.js'
import { digestOf, prepareSignBytes, type Message, type PrePrepare } from '../messages.js'
import type { ReplicaCrypto } from '../types.js'
import type { Prng } from './prng.js'

/**
 * Byzantine behaviours. A Byzantine replica runs the honest Replica inside and an Adversary
 * rewrites what it sends; it holds only its own key, so it can lie but not forge others' votes.
 */
export type ByzantineKind = 'equivocate' | 'doubleVote' | 'forge' | 'replay' | 'garbage' | 'silent'
export const BYZANTINE_KINDS: readonly ByzantineKind[] = ['equivocate', 'doubleVote', 'forge', 'replay', 'garbage', 'silent']

export interface Outgoing {
  to: number
  bytes: Uint8Array
}

const MAX_SHOWN = 4096
const REPLAY_BUFFER = 64

/**
 * What colluding Byzantine replicas share: which digest an equivocating primary showed each
 * replica at (view, seq), so the others vote for exactly what each victim believes.
 */
export class Collusion {
  private readonly shown = new Map<string, Map<number, Uint8Array>>()

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
}

export class Adversary {
  private readonly replay: Uint8Array[] = []

  constructor(
    readonly id: number,
    private readonly n: number,
    readonly kinds: ReadonlySet<ByzantineKind>,
    private readonly crypto: ReplicaCrypto,
    private readonly domain: SignDomain,
    private readonly prng: Prng,
    private readonly collusion: Collusion,
  ) {}

  /** Remembers traffic for later replay. */
  observe(bytes: Uint8Array): void {
    if (!this.kinds.has('replay')) return
    if (this.replay.length >= REPLAY_BUFFER) this.replay.splice(this.prng.int(REPLAY_BUFFER), 1)
    this.replay.push(bytes)
  }

  /** Rewrites one send of the inner (honest) replica. */
  outgoing(to: number | 'all', msg: Message): Outgoing[] {
    const k = this.kinds
    const targets = to === 'all' ? this.others() : [to]
    if (k.has('silent') && this.prng.chance(0.7)) return []
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
      let bytes = encodeMessage(m)
      if (k.has('forge') && this.prng.chance(0.1)) bytes = this.flipSignatureByte(bytes)
      out.push({ to: t, bytes })
    }
    for (const o of out) this.observe(o.bytes)
    return out
  }

  /** Traffic of its own on a tick: garbage, replays, forged certificates. */
  noise(now: number): Outgoing[] {
    const out: Outgoing[] = []
    const to = this.others()[this.prng.int(this.n - 1)]!
    if (this.kinds.has('garbage') && this.prng.chance(0.05)) {
      const junk = this.replay.length > 0 && this.prng.chance(0.5) ? this.flipAnyByte(this.prng.pick(this.replay)) : this.prng.bytes(this.prng.range(0, 200))
      out.push({ to, bytes: junk })
    }
    if (this.kinds.has('replay') && this.replay.length > 0 && this.prng.chance(0.1)) out.push({ to, bytes: this.prng.pick(this.replay) })
    if (this.kinds.has('forge') && this.prng.chance(0.03)) out.push({ to, bytes: encodeMessage(this.forged(now)) })
    return out
  }

  private others(): number[] {
    return Array.from({ length: this.n }, (_, i) => i).filter((i) => i !== this.id)
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
