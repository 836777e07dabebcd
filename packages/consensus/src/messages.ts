import { ZERO_HASH, batchDigest, encode, merkleRoot, type CommitCertificate, type SignDomain } from '@vigil/common'
import type { Batch, CheckpointCertificate, PreparedCertificate } from './types.js'

/**
 * PBFT messages. PRE-PREPARE, PREPARE and COMMIT name no sender: the transport authenticates
 * it (`from`). Everything that may be relayed inside another message (VIEW-CHANGE inside
 * NEW-VIEW, prepare signatures inside prepared certificates) is signed and names its signer.
 */
export interface PrePrepare {
  type: 'preprepare'
  view: number
  seq: number
  batch: Batch
  /** The primary's prepare signature over (view, seq, digest): the pre-prepare is its prepare vote. */
  sig: Uint8Array
}
export interface Prepare { type: 'prepare'; view: number; seq: number; digest: Uint8Array; sig: Uint8Array }
export interface Commit { type: 'commit'; view: number; seq: number; digest: Uint8Array; sig: Uint8Array }
export interface Checkpoint { type: 'checkpoint'; seq: number; blockHash: Uint8Array; sig: Uint8Array }
export interface ViewChange {
  type: 'viewchange'
  /** The view being changed to. */
  view: number
  replica: number
  checkpoint: CheckpointCertificate
  /** The highest-view prepared certificate of each sequence number above checkpoint.seq. */
  prepared: PreparedCertificate[]
  sig: Uint8Array
}
/** One re-proposal of NEW-VIEW; `sig` is the new primary's prepare signature for it. */
export interface NewViewEntry { seq: number; digest: Uint8Array; sig: Uint8Array }
export interface NewView { type: 'newview'; view: number; viewChanges: ViewChange[]; pre: NewViewEntry[]; sig: Uint8Array }
/** Sent periodically: lets peers notice that this replica is behind (view or sequence) and help it. */
export interface Status { type: 'status'; view: number; lastExecuted: number }
/** A committed batch with its commit certificate, sent to a replica that is behind. */
export interface Committed { type: 'committed'; batch: Batch; cert: CommitCertificate }
/** A stable checkpoint certificate, sent to a replica whose log is below it. */
export interface Stable { type: 'stable'; cert: CheckpointCertificate }
/** Asks one peer for the batch of (seq, digest): one this replica voted for, or must execute, without holding it. */
export interface Fetch { type: 'fetch'; seq: number; digest: Uint8Array }
/** The answer to a FETCH: accepted only if digestOf(batch) is `digest` and this replica asked for it. */
export interface BatchReply { type: 'batch'; seq: number; digest: Uint8Array; batch: Batch }

export type Message = PrePrepare | Prepare | Commit | Checkpoint | ViewChange | NewView | Status | Committed | Stable | Fetch | BatchReply

export const NULL_BATCH: Batch = Object.freeze({ time: 0, parent: null, requests: [] as Batch['requests'] }) as Batch

/**
 * Memoized per batch object (batches are never mutated after they are built or decoded): a
 * replica meets the same batch in its log, certificates and view changes, and in-process
 * replicas (simulator, benchmark) share batch objects. A WeakMap keeps it bounded by the GC.
 */
const digests = new WeakMap<Batch, Uint8Array>()

export function digestOf(b: Batch): Uint8Array {
  let d = digests.get(b)
  if (d === undefined) {
    d = batchDigest(b.time, b.parent, b.requests.length === 0 ? ZERO_HASH : merkleRoot(b.requests.map((r) => r.id)))
    digests.set(b, d)
  }
  return d
}

export const NULL_DIGEST = digestOf(NULL_BATCH)

export function prepareSignBytes(d: SignDomain, view: number, seq: number, digest: Uint8Array): Uint8Array {
  return encode(['vigil/prepare/1', d.chainId, d.validatorsHash, view, seq, digest])
}

/** Covers the checkpoint and the digests of the prepared certificates (each digest commits to its batch). */
export function viewChangeSignBytes(d: SignDomain, vc: Omit<ViewChange, 'sig' | 'type'>): Uint8Array {
  return encode([
    'vigil/viewchange/1', d.chainId, d.validatorsHash, vc.view, vc.replica, vc.checkpoint.seq, vc.checkpoint.blockHash,
    vc.prepared.map((p) => [p.view, p.seq, p.digest]),
  ])
}

/** Binds the exact VIEW-CHANGEs used (by the hash of their signed bytes) and the re-proposals. */
export function newViewSignBytes(d: SignDomain, view: number, vcHashes: ReadonlyArray<[number, Uint8Array]>, pre: readonly NewViewEntry[]): Uint8Array {
  return encode(['vigil/newview/1', d.chainId, d.validatorsHash, view, vcHashes, pre.map((e) => [e.seq, e.digest])])
}
