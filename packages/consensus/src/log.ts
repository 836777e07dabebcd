import type { CommitCertificate, ReplicaSignature } from '@vigil/common'
import type { Batch, PreparedCertificate } from './types.js'

/** One replica's vote (PREPARE or COMMIT) for a digest; `key` = keyOf(digest). */
export interface Vote {
  digest: Uint8Array
  key: string
  sig: Uint8Array
}

/** The accepted proposal of a slot (a PRE-PREPARE or a NEW-VIEW re-proposal); `sig` is the primary's prepare signature. */
export type Proposal = Vote

/** A batch held for a slot; `key` = keyOf(digest). */
export interface HeldBatch {
  batch: Batch
  digest: Uint8Array
  key: string
  /** keyOf of each request id, in batch order. */
  requestKeys: readonly string[]
}

export interface CommittedBatch extends HeldBatch {
  cert: CommitCertificate
}

export type VoteResult = 'new' | 'duplicate' | 'conflict'

/** Records a vote; a second vote for another digest is equivocation and is not counted. */
export function addVote(votes: Map<number, Vote>, replica: number, v: Vote): VoteResult {
  const prev = votes.get(replica)
  if (prev === undefined) {
    votes.set(replica, v)
    return 'new'
  }
  return prev.key === v.key ? 'duplicate' : 'conflict'
}

/** Signatures of the votes for `key`, in replica order (so certificates are byte-identical everywhere). */
export function matchingSigs(votes: Map<number, Vote>, key: string): ReplicaSignature[] {
  const out: ReplicaSignature[] = []
  for (const [replica, v] of votes) if (v.key === key) out.push({ replica, sig: v.sig })
  return out.sort((a, b) => a.replica - b.replica)
}

/**
 * The agreement state of one sequence number. Votes belong to `view`; a newer view resets
 * them. `prepared` (the highest-view prepared certificate) and `committed` outlive views:
 * the first feeds VIEW-CHANGE, the second is final.
 */
export class Slot {
  view: number
  pp: Proposal | null = null
  readonly prepares = new Map<number, Vote>()
  readonly commits = new Map<number, Vote>()
  sentCommit = false
  prepared: PreparedCertificate | null = null
  /**
   * Batches held for `pp` and `prepared` (at most two), each with its persisted record. The
   * proposal is voted on without its batch, which is fetched: only delivery waits for it.
   */
  readonly batches = new Map<string, HeldBatch>()
  /** A commit certificate for the proposal whose batch is not held yet: `committed` once it is. */
  certified: CommitCertificate | null = null
  committed: CommittedBatch | null = null
  /** Which persisted records exist for this slot, so GC can delete them. */
  ppRecord = false
  pcRecord = false

  constructor(readonly seq: number, view: number) {
    this.view = view
  }

  /** The batch of digest `key`, if this slot holds it (for its votes or as committed). */
  batchFor(key: string): HeldBatch | undefined {
    return this.batches.get(key) ?? (this.committed?.key === key ? this.committed : undefined)
  }

  enterView(view: number): void {
    if (view <= this.view) return
    this.view = view
    this.pp = null
    this.prepares.clear()
    this.commits.clear()
    this.sentCommit = false
  }
}

/** Slots by sequence number. The replica only creates slots inside its watermarks, so this is bounded by L. */
export class Log {
  private readonly slots = new Map<number, Slot>()

  get size(): number {
    return this.slots.size
  }

  peek(seq: number): Slot | undefined {
    return this.slots.get(seq)
  }

  /** The slot for seq, brought to `view`. */
  at(seq: number, view: number): Slot {
    let s = this.slots.get(seq)
    if (s === undefined) {
      s = new Slot(seq, view)
      this.slots.set(seq, s)
    }
    s.enterView(view)
    return s
  }

  /** Slots in sequence order (insertion order follows the network, so it is never used for output). */
  sorted(): Slot[] {
    return [...this.slots.values()].sort((a, b) => a.seq - b.seq)
  }

  /** Removes and returns the slots at or below seq. */
  removeUpTo(seq: number): Slot[] {
    const gone = this.sorted().filter((s) => s.seq <= seq)
    for (const s of gone) this.slots.delete(s.seq)
    return gone
  }
}
