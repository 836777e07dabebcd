import { decodeCanonical, encode } from './cbor.js'
import { expectArray, expectBytes, expectUint } from './check.js'
import { ValidationError } from './errors.js'
import { LEDGER_PROTOCOL, type LedgerProtocol } from './genesis.js'
import { HASH_BYTES, sha256 } from './hash.js'
import { SIGNATURE_BYTES, verifySignature } from './keys.js'

/**
 * What validators sign. Every signed message starts with a type tag and the domain
 * (chain id and validator-set hash), so no signature can be replayed on another chain, for
 * another validator set, or as another kind of message; view and sequence pin it in time.
 */
export interface SignDomain {
  chainId: string
  validatorsHash: Uint8Array
}

/**
 * The digest a PBFT batch is ordered under. `parent` is hash(header of the previous block); null
 * only for a null batch. txRoot is the Merkle root of the transaction ids, which under protocol 2
 * hash each transaction's exact bytes, signature included: certifying the digest certifies them.
 */
export function batchDigest(time: number, parent: Uint8Array | null, txRoot: Uint8Array, protocol: LedgerProtocol = LEDGER_PROTOCOL): Uint8Array {
  return sha256(encode([`vigil/batch/${protocol}`, time, parent, txRoot]))
}

export function commitSignBytes(d: SignDomain, view: number, seq: number, digest: Uint8Array): Uint8Array {
  return encode(['vigil/commit/1', d.chainId, d.validatorsHash, view, seq, digest])
}

export function checkpointSignBytes(d: SignDomain, seq: number, stateDigest: Uint8Array): Uint8Array {
  return encode(['vigil/checkpoint/1', d.chainId, d.validatorsHash, seq, stateDigest])
}

export interface ReplicaSignature {
  replica: number
  sig: Uint8Array
}

/** A quorum (quorumSize) of signed COMMITs for one (view, seq, digest): proof that a batch was ordered. */
export interface CommitCertificate {
  view: number
  seq: number
  digest: Uint8Array
  sigs: ReplicaSignature[]
}

export const MAX_CERT_BYTES = 64 * 1024

export function encodeCertificate(c: CommitCertificate): Uint8Array {
  return encode([c.view, c.seq, c.digest, c.sigs.map((s) => [s.replica, s.sig])])
}

export function decodeCertificateFields(v: unknown, what = 'certificate'): CommitCertificate {
  const f = expectArray(v, what, 4)
  return {
    view: expectUint(f[0], `${what}.view`),
    seq: expectUint(f[1], `${what}.seq`),
    digest: expectBytes(f[2], `${what}.digest`, HASH_BYTES),
    sigs: expectArray(f[3], `${what}.sigs`).map((s, i) => {
      const sf = expectArray(s, `${what}.sigs[${i}]`, 2)
      return { replica: expectUint(sf[0], `${what}.sigs[${i}].replica`, 1023), sig: expectBytes(sf[1], `${what}.sigs[${i}].sig`, SIGNATURE_BYTES) }
    }),
  }
}

export function decodeCertificate(bytes: Uint8Array): CommitCertificate {
  return decodeCertificateFields(decodeCanonical(bytes, MAX_CERT_BYTES, 'certificate'))
}

/**
 * Checks a commit certificate with only the validators' public keys: at least `quorum`
 * distinct validators, each signature valid over (domain, view, seq, digest).
 * Throws a ValidationError saying which rule failed. `checked` names signatures of this
 * certificate already verified over exactly that message with that replica's key (on a
 * signature pool); every other one is verified here.
 */
export function verifyCommitCertificate(
  c: CommitCertificate,
  d: SignDomain,
  validatorKeys: readonly Uint8Array[],
  quorum: number,
  checked: (s: ReplicaSignature) => boolean = () => false,
): void {
  const seen = new Set<number>()
  const msg = commitSignBytes(d, c.view, c.seq, c.digest)
  for (const s of c.sigs) {
    if (seen.has(s.replica)) throw new ValidationError(`certificate for seq ${c.seq}: replica ${s.replica} signs twice`)
    seen.add(s.replica)
    const key = validatorKeys[s.replica]
    if (key === undefined) throw new ValidationError(`certificate for seq ${c.seq}: signer ${s.replica} is not a validator`)
    if (!checked(s) && !verifySignature(key, msg, s.sig)) throw new ValidationError(`certificate for seq ${c.seq}: signature of replica ${s.replica} does not verify`)
  }
  if (seen.size < quorum) throw new ValidationError(`certificate for seq ${c.seq}: ${seen.size} signatures, ${quorum} needed`)
}
