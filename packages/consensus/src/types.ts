import { sha256, type CommitCertificate, type ConsensusParams, type ReplicaSignature, type SignDomain } from '@vigil/common'
import type { Message } from './messages.js'

/**
 * A client transaction as consensus sees it. `id` = sha256(payload), always (requestOf): batches
 * are ordered, digested and deduplicated by ids, so a certificate over them binds the exact
 * payload bytes, and no peer can pair a certified id with other bytes.
 */
export interface Request {
  readonly id: Uint8Array
  /** Opaque, already validated transaction bytes. */
  readonly payload: Uint8Array
}

export function requestOf(payload: Uint8Array): Request {
  return { id: sha256(payload), payload }
}

/** One block's worth of requests. A null batch (a hole filled by NEW-VIEW) has time 0, parent null and no requests. */
export interface Batch {
  time: number
  parent: Uint8Array | null
  requests: Request[]
}

export interface ReplicaCrypto {
  sign(bytes: Uint8Array): Uint8Array
  verify(replica: number, bytes: Uint8Array, sig: Uint8Array): boolean
}

export interface ReplicaConfig {
  id: number
  n: number
  params: ConsensusParams
  domain: SignDomain
  crypto: ReplicaCrypto
  /**
   * Checks a request inside a PRE-PREPARE that this replica did not get through 'request'
   * (the node checks the tx signature and that `id` is the tx id). Default: accept.
   */
  validateRequest?: (r: Request) => boolean
  /**
   * TESTS ONLY: replaces the quorum of every certificate (PREPARE, COMMIT, CHECKPOINT, VIEW-CHANGE),
   * as a wrong quorumSize would, to show the simulator catches the bug.
   */
  unsafeQuorumOverride?: number
  /**
   * TESTS ONLY: the view-change timer starts on a quorum of VIEW-CHANGEs for exactly the target
   * view (the old rule), to show that replicas spread over two views then stall.
   */
  unsafeExactViewTimer?: boolean
}

/** A quorum of signed CHECKPOINTs for one (seq, blockHash); seq 0 (genesis) needs no signatures. */
export interface CheckpointCertificate {
  seq: number
  blockHash: Uint8Array
  sigs: ReplicaSignature[]
}

/**
 * A PRE-PREPARE plus PREPAREs: a quorum of replicas signed prepareSignBytes(view, seq, digest).
 * It names its batch by digest only, so VIEW-CHANGE and NEW-VIEW stay small whatever the batch
 * size (maxViewChangeBytes); a replica that lacks a batch it must execute fetches it.
 */
export interface PreparedCertificate {
  view: number
  seq: number
  digest: Uint8Array
  sigs: ReplicaSignature[]
}

export type Input =
  | { type: 'message'; from: number; msg: Message }
  | { type: 'request'; request: Request }
  | { type: 'tick'; now: number }
  /** `now`: when execution finished. A long execution moves the clock, so it is not mistaken for a silent primary. */
  | { type: 'executed'; seq: number; blockHash: Uint8Array; now: number }
  | { type: 'stateTransferred'; seq: number; blockHash: Uint8Array }

export interface Delivery {
  seq: number
  view: number
  batch: Batch
  digest: Uint8Array
  cert: CommitCertificate
}

export interface StateTransferRequest {
  seq: number
  blockHash: Uint8Array
  cert: CheckpointCertificate
}

/**
 * What one step asks of the node, in this order: write `persist` durably (one synced batch),
 * then send `send`, then execute `deliver` and feed back 'executed'.
 */
export interface Ready {
  persist: Array<{ key: string; value: Uint8Array | null }>
  send: Array<{ to: number | 'all'; msg: Message }>
  deliver: Delivery[]
  stateTransfer: StateTransferRequest | null
  faults: Array<{ replica: number; reason: string }>
  dropped: Array<{ reason: string }>
  /** A view change this step started (or moved on to a higher view), and why: for the operator's log. */
  viewChange: { view: number; reason: string } | null
}

export interface ReplicaStatus {
  view: number
  primary: number
  viewChanging: boolean
  /** The view being changed to while viewChanging. */
  targetView: number
  lowWatermark: number
  highWatermark: number
  lastExecuted: number
  lastDelivered: number
  lastStableCheckpoint: number
  pendingRequests: number
  /** Sequence numbers held in the log (bounded by the watermark window). */
  logSize: number
}
