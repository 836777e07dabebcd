import { ValidationError, checkpointSignBytes, commitSignBytes, quorumSize, type CommitCertificate, type ReplicaSignature, type SignDomain } from '@vigil/common'
import { prepareSignBytes } from './messages.js'
import type { CheckpointCertificate, PreparedCertificate, ReplicaCrypto } from './types.js'

export type Verify = ReplicaCrypto['verify']

/**
 * The one quorum rule behind every certificate: at least `quorum` distinct validators
 * (index < n), each signature valid over `bytes`. Returns why it fails, or null.
 */
export function quorumError(sigs: readonly ReplicaSignature[], bytes: Uint8Array, n: number, quorum: number, verify: Verify): string | null {
  if (sigs.length > n) return `${sigs.length} signatures from ${n} validators`
  const seen = new Set<number>()
  for (const s of sigs) {
    if (s.replica >= n) return `signer ${s.replica} is not a validator`
    if (seen.has(s.replica)) return `replica ${s.replica} signs twice`
    seen.add(s.replica)
    if (!verify(s.replica, bytes, s.sig)) return `signature of replica ${s.replica} does not verify`
  }
  return seen.size < quorum ? `${seen.size} signatures, ${quorum} needed` : null
}

/** Checkpoint certificates for the state-transfer source: seq 0 (genesis) needs none. */
export function checkpointCertError(c: CheckpointCertificate, d: SignDomain, n: number, verify: Verify, quorum = quorumSize(n)): string | null {
  if (c.seq === 0) return c.sigs.length === 0 ? null : 'genesis checkpoint carries signatures'
  return quorumError(c.sigs, checkpointSignBytes(d, c.seq, c.blockHash), n, quorum, verify)
}

/**
 * For the node's sync: a quorum of validators signed CHECKPOINT(seq, blockHash). `verify` checks one
 * validator's signature (ed25519 with the genesis keys in the node). Throws a ValidationError.
 */
export function verifyCheckpointCertificate(c: CheckpointCertificate, d: SignDomain, n: number, verify: Verify, quorum = quorumSize(n)): void {
  const err = checkpointCertError(c, d, n, verify, quorum)
  if (err !== null) throw new ValidationError(`checkpoint certificate for seq ${c.seq}: ${err}`)
}

export function preparedCertError(p: PreparedCertificate, d: SignDomain, n: number, verify: Verify, quorum: number): string | null {
  return quorumError(p.sigs, prepareSignBytes(d, p.view, p.seq, p.digest), n, quorum, verify)
}

export function commitCertError(c: CommitCertificate, d: SignDomain, n: number, verify: Verify, quorum: number): string | null {
  return quorumError(c.sigs, commitSignBytes(d, c.view, c.seq, c.digest), n, quorum, verify)
}
