import { toHex, type CommitCertificate } from '@vigil/common'

export type FailureKind =
  | 'conflicting commit'
  | 'unsubmitted request'
  | 'duplicate delivery'
  | 'out-of-order delivery'
  | 'invalid certificate'
  | 'liveness'

export class SimFailure extends Error {
  constructor(readonly kind: FailureKind, detail: string) {
    super(detail)
    this.name = 'SimFailure'
  }
}

/**
 * The checker outside the replicas: it sees every block an honest replica executes (by
 * delivery or state transfer) and asserts one shared history. Throws SimFailure.
 */
export class Checker {
  private readonly digests = new Map<number, string>()
  private readonly submitted = new Set<string>()
  private readonly executed: Array<Set<string>>

  constructor(n: number, private readonly certError: (c: CommitCertificate) => string | null) {
    this.executed = Array.from({ length: n }, () => new Set<string>())
  }

  submit(id: Uint8Array): void {
    this.submitted.add(toHex(id))
  }

  get submittedCount(): number {
    return this.submitted.size
  }

  /** A block executed by honest replica `node` at `seq`; `expectedSeq` is its next height. */
  block(node: number, seq: number, expectedSeq: number, digest: Uint8Array, ids: readonly Uint8Array[], cert: CommitCertificate | null): void {
    if (seq !== expectedSeq) throw new SimFailure('out-of-order delivery', `replica ${node} got seq ${seq}, expected ${expectedSeq}`)
    const d = toHex(digest)
    const prev = this.digests.get(seq)
    if (prev === undefined) this.digests.set(seq, d)
    else if (prev !== d) throw new SimFailure('conflicting commit', `replica ${node} committed ${d.slice(0, 16)} at seq ${seq}, another honest replica ${prev.slice(0, 16)}`)
    if (cert !== null) {
      const err = toHex(cert.digest) !== d || cert.seq !== seq ? 'certificate is for another batch' : this.certError(cert)
      if (err !== null) throw new SimFailure('invalid certificate', `replica ${node} seq ${seq}: ${err}`)
    }
    const seen = this.executed[node]!
    for (const id of ids) {
      const k = toHex(id)
      if (!this.submitted.has(k)) throw new SimFailure('unsubmitted request', `replica ${node} seq ${seq} delivered request ${k.slice(0, 16)} no client submitted`)
      if (seen.has(k)) throw new SimFailure('duplicate delivery', `replica ${node} delivered request ${k.slice(0, 16)} twice (again at seq ${seq})`)
      seen.add(k)
    }
  }

  /** A Byzantine replica's execution: remembered (its node's mempool uses it), never checked. */
  record(node: number, ids: readonly Uint8Array[]): void {
    for (const id of ids) this.executed[node]!.add(toHex(id))
  }

  /** Requests some honest replica in `nodes` has not executed. */
  missing(nodes: readonly number[]): number {
    let missing = 0
    for (const node of nodes) for (const k of this.submitted) if (!this.executed[node]!.has(k)) missing++
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
