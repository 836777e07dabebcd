import { concatBytes, encode, equalBytes, sha256, type ConsensusParams, type SignDomain } from '@vigil/common'
import { Replica } from '../src/replica.js'
import { decodeMessage, encodeMessage } from '../src/codec.js'
import type { Message } from '../src/messages.js'
import { simCrypto, simSecrets } from '../src/sim/crypto.js'
import { requestOf, type Delivery, type Input, type Ready, type ReplicaConfig, type ReplicaCrypto, type Request } from '../src/types.js'

/**
 * A hand-driven in-memory network for unit tests (etcd raft's `network`): messages queue up
 * and are delivered on demand, through a filter that can drop or rewrite them.
 */
export const PARAMS: ConsensusParams = {
  batchMaxCount: 4, batchMaxBytes: 64 * 1024, batchTimeoutMs: 5, checkpointInterval: 2, watermarkWindow: 6, viewChangeTimeoutMs: 100, maxClockSkewMs: 1000,
}
export const DOMAIN: SignDomain = { chainId: 'test', validatorsHash: sha256(encode(['test-validators'])) }
export const GENESIS = sha256(encode(['test-genesis']))

export function request(i: number): Request {
  const payload = encode(['req', i])
  return requestOf(payload)
}

export interface Envelope {
  from: number
  to: number
  msg: Message
}

export class TestNet {
  readonly replicas: Replica[]
  readonly stores: Array<Map<string, Uint8Array>>
  readonly heights: Uint8Array[][]
  readonly delivered: Delivery[][]
  readonly readies: Ready[][]
  readonly cryptos: ReplicaCrypto[]
  queue: Envelope[] = []
  now = 0
  /** Return false to drop a message. */
  filter: (e: Envelope) => boolean = () => true
  /**
   * Set: each message crosses a wire as in the node, after the filter: encoded, dropped if over
   * this many bytes (the frame limit), decoded, so ids are derived from the payloads again.
   */
  wire: number | null = null
  /** With `wire`: the largest encoding seen per message type, and the messages dropped as too large. */
  readonly wireMax = new Map<string, number>()
  readonly oversize: Array<{ from: number; to: number; type: string; bytes: number }> = []
  private readonly encoded = new WeakMap<Message, Uint8Array>()
  /** Play the node's state transfer too: a replica asking for one gets the chain of a replica that has the certified block. */
  serveTransfers = false

  constructor(readonly n: number, readonly params: ConsensusParams = PARAMS, cryptos?: ReplicaCrypto[], extra: Partial<ReplicaConfig> = {}) {
    const secrets = simSecrets(n, 1)
    this.cryptos = cryptos ?? Array.from({ length: n }, (_, i) => simCrypto(i, secrets))
    this.stores = Array.from({ length: n }, () => new Map())
    this.heights = Array.from({ length: n }, () => [GENESIS])
    this.delivered = Array.from({ length: n }, () => [])
    this.readies = Array.from({ length: n }, () => [])
    this.replicas = Array.from({ length: n }, (_, i) => new Replica(this.config(i, extra)))
    for (let i = 0; i < n; i++) this.step(i, { type: 'stateTransferred', seq: 0, blockHash: GENESIS })
  }

  config(id: number, extra: Partial<ReplicaConfig> = {}): ReplicaConfig {
    return { id, n: this.n, params: this.params, domain: DOMAIN, crypto: this.cryptos[id]!, ...extra }
  }

  /** Steps replica i and plays the node: persist, queue sends, execute deliveries. */
  step(i: number, input: Input): Ready {
    const ready = this.replicas[i]!.step(input)
    this.readies[i]!.push(ready)
    for (const p of ready.persist) {
      if (p.value === null) this.stores[i]!.delete(p.key)
      else this.stores[i]!.set(p.key, p.value)
    }
    for (const s of ready.send) {
      const targets = s.to === 'all' ? Array.from({ length: this.n }, (_, t) => t).filter((t) => t !== i) : [s.to]
      for (const to of targets) this.queue.push({ from: i, to, msg: s.msg })
    }
    if (ready.stateTransfer !== null && this.serveTransfers) this.transfer(i, ready.stateTransfer.seq, ready.stateTransfer.blockHash)
    for (const d of ready.deliver) {
      this.delivered[i]!.push(d)
      const h = this.heights[i]!
      const hash = sha256(concatBytes(h[h.length - 1]!, d.digest))
      h.push(hash)
      this.step(i, { type: 'executed', seq: d.seq, blockHash: hash, now: this.now })
    }
    return ready
  }

  private transfer(i: number, seq: number, blockHash: Uint8Array): void {
    const from = this.heights.find((h) => h.length > seq && equalBytes(h[seq]!, blockHash))
    if (from === undefined) return
    this.heights[i] = from.slice(0, seq + 1)
    this.step(i, { type: 'stateTransferred', seq, blockHash })
  }

  /** Restarts replica i from what it persisted, at its executed height. */
  restart(i: number, extra: Partial<ReplicaConfig> = {}): void {
    this.queue = this.queue.filter((e) => e.to !== i)
    const records = [...this.stores[i]!].map(([key, value]) => ({ key, value }))
    this.replicas[i] = new Replica(this.config(i, extra), records)
    const h = this.heights[i]!
    this.step(i, { type: 'stateTransferred', seq: h.length - 1, blockHash: h[h.length - 1]! })
  }

  submit(r: Request, to: readonly number[] = Array.from({ length: this.n }, (_, i) => i)): void {
    for (const i of to) this.step(i, { type: 'request', request: r })
  }

  tick(ms: number, replicas: readonly number[] = Array.from({ length: this.n }, (_, i) => i)): void {
    this.now += ms
    for (const i of replicas) this.step(i, { type: 'tick', now: this.now })
  }

  /** Delivers queued messages until none are left (bounded). */
  flush(maxMessages = 100_000): void {
    for (let k = 0; k < maxMessages && this.queue.length > 0; k++) {
      const e = this.queue.shift()!
      if (!this.filter(e)) continue
      const msg = this.wire === null ? e.msg : this.crossWire(e, this.wire)
      if (msg !== null) this.step(e.to, { type: 'message', from: e.from, msg })
    }
  }

  private crossWire(e: Envelope, limit: number): Message | null {
    let bytes = this.encoded.get(e.msg)
    if (bytes === undefined) {
      bytes = encodeMessage(e.msg)
      this.encoded.set(e.msg, bytes)
    }
    this.wireMax.set(e.msg.type, Math.max(this.wireMax.get(e.msg.type) ?? 0, bytes.byteLength))
    if (bytes.byteLength > limit) {
      this.oversize.push({ from: e.from, to: e.to, type: e.msg.type, bytes: bytes.byteLength })
      return null
    }
    return decodeMessage(bytes, limit)
  }

  /** Ticks (the listed replicas, default all) and flushes until `done` or the time budget runs out. */
  runUntil(done: () => boolean, budgetMs = 10_000, tickMs = 5, replicas?: readonly number[]): boolean {
    for (let t = 0; t < budgetMs && !done(); t += tickMs) {
      this.tick(tickMs, replicas)
      this.flush()
    }
    return done()
  }

  lastReady(i: number): Ready {
    return this.readies[i]![this.readies[i]!.length - 1]!
  }
}
