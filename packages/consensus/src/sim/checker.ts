import { encode, sha256, toHex, type CommitCertificate } from '@vigil/common'

export type FailureKind =
  /** Two honest replicas executed different batches (digests) at one height. */
  | 'fork'
  /** Two honest replicas executed the same batch digest with different bytes, or reached different states. */
  | 'divergence'
  | 'unsubmitted request'
  | 'duplicate delivery'
  | 'out-of-order delivery'
  | 'invalid certificate'
  | 'liveness'
  /** An honest replica sent more than its budget in a window: Byzantine traffic amplified into honest traffic. */
  | 'message budget'

/** Failure kinds that are not safety violations. */
export const LIVENESS_KINDS: ReadonlySet<FailureKind> = new Set(['liveness', 'message budget'])

export class SimFailure extends Error {
  constructor(readonly kind: FailureKind, detail: string) {
    super(detail)
    this.name = 'SimFailure'
  }
}

/** What an honest replica executed at one height: the batch, its exact request bytes, and the state after it. */
export interface Executed {
  digest: Uint8Array
  ids: readonly Uint8Array[]
  payloads: readonly Uint8Array[]
  /** The state root after this block: a running hash of every payload executed so far. */
  state: Uint8Array
}

/** The state after executing `payloads` on `prev`. */
export function nextState(prev: Uint8Array, payloads: readonly Uint8Array[]): Uint8Array {
  return sha256(encode([prev, payloads]))
}

const short = (hex: string): string => hex.slice(0, 16)

/**
 * The checker outside the replicas: it sees every block an honest replica executes (by
 * delivery or state transfer) and asserts one shared history, compared by what is executed
 * (request bytes and the state after them), not only by digest. Throws SimFailure.
 */
export class Checker {
  /** Per height: what the first honest replica executed there, and which replica that was. */
  private readonly heights = new Map<number, { replica: number; digest: string; payloads: string; state: string }>()
  /** Submitted request id -> hex of the exact payload the client sent. */
  private readonly submitted = new Map<string, string>()
  private readonly executed: Array<Set<string>>

  constructor(n: number, private readonly certError: (c: CommitCertificate) => string | null) {
    this.executed = Array.from({ length: n }, () => new Set<string>())
  }

  submit(id: Uint8Array, payload: Uint8Array): void {
    this.submitted.set(toHex(id), toHex(payload))
  }

  get submittedCount(): number {
    return this.submitted.size
  }

  /** A block executed by honest replica `node` at `seq`; `expectedSeq` is its next height. */
  block(node: number, seq: number, expectedSeq: number, b: Executed, cert: CommitCertificate | null): void {
    if (seq !== expectedSeq) throw new SimFailure('out-of-order delivery', `replica ${node} got seq ${seq}, expected ${expectedSeq}`)
    const mine = { replica: node, digest: toHex(b.digest), payloads: toHex(sha256(encode(b.payloads))), state: toHex(b.state) }
    const first = this.heights.get(seq)
    if (first === undefined) this.heights.set(seq, mine)
    else if (first.digest !== mine.digest) {
      throw new SimFailure('fork', `height ${seq}: replica ${node} executed batch ${short(mine.digest)}, replica ${first.replica} batch ${short(first.digest)}`)
    } else if (first.payloads !== mine.payloads) {
      throw new SimFailure('divergence', `height ${seq}: replicas ${first.replica} and ${node} executed batch ${short(mine.digest)} with different request bytes (payloads hash ${short(first.payloads)} and ${short(mine.payloads)})`)
    } else if (first.state !== mine.state) {
      throw new SimFailure('divergence', `height ${seq}: replicas ${first.replica} and ${node} reached different states (${short(first.state)} and ${short(mine.state)})`)
    }
    if (cert !== null) {
      const err = toHex(cert.digest) !== mine.digest || cert.seq !== seq ? 'certificate is for another batch' : this.certError(cert)
      if (err !== null) throw new SimFailure('invalid certificate', `replica ${node} seq ${seq}: ${err}`)
    }
    const seen = this.executed[node]!
    b.ids.forEach((id, i) => {
      const k = toHex(id)
      const sent = this.submitted.get(k)
      if (sent === undefined) throw new SimFailure('unsubmitted request', `replica ${node} height ${seq} executed request ${short(k)} no client submitted`)
      if (sent !== toHex(b.payloads[i]!)) throw new SimFailure('unsubmitted request', `replica ${node} height ${seq} executed request ${short(k)} with bytes its client did not submit`)
      if (seen.has(k)) throw new SimFailure('duplicate delivery', `replica ${node} delivered request ${short(k)} twice (again at seq ${seq})`)
      seen.add(k)
    })
  }

  /** A Byzantine replica's execution: remembered (its node's mempool uses it), never checked. */
  record(node: number, ids: readonly Uint8Array[]): void {
    for (const id of ids) this.executed[node]!.add(toHex(id))
  }

  /** Requests some honest replica in `nodes` has not executed. */
  missing(nodes: readonly number[]): number {
    let missing = 0
    for (const node of nodes) for (const k of this.submitted.keys()) if (!this.executed[node]!.has(k)) missing++
    return missing
  }

  hasExecuted(node: number, id: Uint8Array): boolean {
    return this.executed[node]!.has(toHex(id))
  }

  executedAnywhere(nodes: readonly number[], id: Uint8Array): boolean {
    const k = toHex(id)
    return nodes.some((n) => this.executed[n]!.has(k))
  }
}
