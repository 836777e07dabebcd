import { keyOf } from '@vigil/common'
import type { CheckpointCertificate } from './types.js'

interface CheckpointVote {
  seq: number
  blockHash: Uint8Array
  key: string
  sig: Uint8Array
}

export type CheckpointVoteResult = 'new' | 'duplicate' | 'conflict'

/**
 * Signed CHECKPOINTs from each replica above the low watermark. Each replica keeps at most
 * `perReplica` entries (its highest), so a replica that floods checkpoints for far sequence
 * numbers evicts only its own.
 */
export class CheckpointVotes {
  private readonly byReplica = new Map<number, CheckpointVote[]>()

  constructor(private readonly perReplica: number) {}

  add(replica: number, seq: number, blockHash: Uint8Array, sig: Uint8Array): CheckpointVoteResult {
    const list = this.byReplica.get(replica) ?? []
    const key = keyOf(blockHash)
    const prev = list.find((v) => v.seq === seq)
    if (prev !== undefined) return prev.key === key ? 'duplicate' : 'conflict'
    list.push({ seq, blockHash, key, sig })
    list.sort((a, b) => a.seq - b.seq)
    if (list.length > this.perReplica) list.shift()
    this.byReplica.set(replica, list)
    return 'new'
  }

  /** A certificate for seq if `quorum` replicas signed the same block hash. */
  certificate(seq: number, quorum: number): CheckpointCertificate | null {
    const groups = new Map<string, { blockHash: Uint8Array; sigs: Array<{ replica: number; sig: Uint8Array }> }>()
    for (const [replica, list] of this.byReplica) {
      const v = list.find((x) => x.seq === seq)
      if (v === undefined) continue
      const g = groups.get(v.key) ?? { blockHash: v.blockHash, sigs: [] }
      g.sigs.push({ replica, sig: v.sig })
      groups.set(v.key, g)
    }
    for (const g of groups.values()) {
      if (g.sigs.length >= quorum) return { seq, blockHash: g.blockHash, sigs: g.sigs.sort((a, b) => a.replica - b.replica) }
    }
    return null
  }

  prune(upTo: number): void {
    for (const [replica, list] of this.byReplica) {
      const kept = list.filter((v) => v.seq > upTo)
      if (kept.length === 0) this.byReplica.delete(replica)
      else this.byReplica.set(replica, kept)
    }
  }
}
