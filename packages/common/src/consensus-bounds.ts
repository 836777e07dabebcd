import { cborHeadBytes } from './cbor-head.js'
import type { ConsensusParams } from './genesis.js'
import { HASH_BYTES } from './hash.js'
import { SIGNATURE_BYTES } from './keys.js'
import { quorumSize } from './quorum.js'

/**
 * Upper bounds on the encoded size of PBFT messages (the canonical CBOR of
 * @vigil/consensus's codec), as functions of the chain's parameters, so that genesis can refuse
 * a chain whose view change could not fit in a frame. A message over the frame limit is dropped
 * by every peer, and a VIEW-CHANGE or NEW-VIEW that can never be delivered halts the chain.
 *
 * VIEW-CHANGE and NEW-VIEW name batches by digest only (missing batches are fetched one at a
 * time), so neither depends on batchMaxBytes:
 *   VIEW-CHANGE <= C + cp(n) + L * prepared(n)          prepared(n) = 53 + sigs(n), cp(n) = 44 + sigs(n)
 *   NEW-VIEW    <= C' + q * VIEW-CHANGE + L * 110        sigs(n) = n * (67 + |index|) + |n|
 * with L = watermarkWindow, q = quorumSize(n), a signature entry = [index, 64-byte ed25519
 * signature]; every certificate counted with all n signatures (the most a valid one holds),
 * views, sequence numbers and times at 9 bytes (any safe integer).
 * The messages that carry a batch (PRE-PREPARE, COMMITTED, a fetched batch) are bounded by
 * batchMaxBytes plus a per-request head and one certificate.
 */

/** The node's frame limit on its PBFT channel: every message must fit, whatever the parameters. */
export const MAX_CONSENSUS_FRAME_BYTES = 48 * 1024 * 1024

/** Any safe integer (view, sequence number, time) as CBOR. */
const UINT = 9
const arr = (len: number): number => cborHeadBytes(len)
const bytes = (len: number): number => cborHeadBytes(len) + len
const HASH = bytes(HASH_BYTES)
const SIG = bytes(SIGNATURE_BYTES)
/** The one-byte type tag leading every message. */
const TAG = 1

/** A list of at most n [replica, signature] entries. */
function sigList(n: number): number {
  return arr(n) + n * (arr(2) + cborHeadBytes(n - 1) + SIG)
}

/** [seq, blockHash, sigs] */
const checkpointCert = (n: number): number => arr(3) + UINT + HASH + sigList(n)
/** [view, seq, digest, sigs]: a prepared certificate in a VIEW-CHANGE. */
const preparedCert = (n: number): number => arr(4) + UINT + UINT + HASH + sigList(n)
/** [seq, digest, sig]: a re-proposal in a NEW-VIEW. */
const newViewEntry = arr(3) + UINT + HASH + SIG

/** A valid VIEW-CHANGE: [tag, view, replica, checkpoint, at most L prepared certificates, sig]. */
export function maxViewChangeBytes(n: number, watermarkWindow: number): number {
  return arr(6) + TAG + UINT + cborHeadBytes(n - 1) + checkpointCert(n) + arr(watermarkWindow) + watermarkWindow * preparedCert(n) + SIG
}

/**
 * A NEW-VIEW as an honest primary builds it: [tag, view, quorumSize(n) VIEW-CHANGEs, at most L
 * re-proposals, sig]. L: the re-proposals run from the highest checkpoint to the highest prepared
 * sequence number, which no valid VIEW-CHANGE puts more than L above its own (lower) checkpoint.
 */
export function maxNewViewBytes(n: number, watermarkWindow: number): number {
  const q = quorumSize(n)
  return arr(5) + TAG + UINT + arr(q) + q * maxViewChangeBytes(n, watermarkWindow) + arr(watermarkWindow) + watermarkWindow * newViewEntry + SIG
}

/** The batch inside PRE-PREPARE, COMMITTED and a fetched batch: [time, parent, payloads]. */
function batchBytes(p: ConsensusParams): number {
  return arr(3) + UINT + HASH + arr(p.batchMaxCount) + p.batchMaxBytes + p.batchMaxCount * cborHeadBytes(p.batchMaxBytes)
}

/** The largest of PRE-PREPARE [tag, view, seq, batch, sig], COMMITTED [tag, batch, cert] and BATCH [tag, seq, digest, batch]. */
export function maxBatchMessageBytes(n: number, p: ConsensusParams): number {
  const commitCert = arr(4) + UINT + UINT + HASH + sigList(n)
  const carrier = Math.max(arr(5) + UINT + UINT + SIG, arr(3) + commitCert, arr(4) + UINT + HASH)
  return TAG + carrier + batchBytes(p)
}

/** The largest PBFT message n validators exchange under these parameters (STATUS, votes and the rest are smaller). */
export function maxConsensusMessageBytes(n: number, p: ConsensusParams): number {
  return Math.max(maxNewViewBytes(n, p.watermarkWindow), maxBatchMessageBytes(n, p))
}
