import { DecodeError, decodeCanonical, encode, equalBytes, expectArray, expectBool, expectUint, fromHex, toHex } from '@vigil/common'
import { decodeBatchRecord, decodeMessage, decodePreparedRecord, encodeBatchRecord, encodeMessage, encodePreparedRecord } from './codec.js'
import { digestOf, type Message, type NewView, type Prepare, type ViewChange } from './messages.js'
import type { Batch, CheckpointCertificate, PreparedCertificate } from './types.js'

/**
 * The replica's durable records. Keys are the replica's own ("pbft/..."), sequence numbers
 * zero-padded so a sorted store lists them in order. What each record guarantees after a restart:
 *   pbft/view            [view, target, changing]: never vote in a view it has left
 *   pbft/vc              the VIEW-CHANGE it sent last: re-sent as is, never a different one
 *   pbft/nv              the NEW-VIEW that installed its view: re-proposals and relaying to laggers
 *   pbft/stable          its stable checkpoint certificate: low watermark and VIEW-CHANGE proof
 *   pbft/pp/<seq>        the proposal it accepted (= its PREPARE) or made at seq: view, digest and
 *                        the primary's prepare signature, stored as a PREPARE of the primary's
 *   pbft/pc/<seq>        its prepared certificate at seq (= its COMMIT), reported in VIEW-CHANGEs
 *   pbft/batch/<seq>/<digest>  a batch it holds for the proposal or the prepared certificate at seq.
 *                        A proposal without one (a re-proposal whose batch it never saw) is still
 *                        voted on, and after a restart its batch is fetched again before delivery
 *   pbft/delivered/<seq> request ids delivered at seq (dedup memory)
 * pp/pc/batch are deleted when a stable checkpoint passes them (a batch also when neither the
 * proposal nor the prepared certificate names it any more), delivered/ one window later:
 * at most about 5L + 4 records (two batches per sequence number at most).
 */
const pad = (seq: number): string => seq.toString().padStart(16, '0')
export const KEYS = {
  view: 'pbft/view',
  viewChange: 'pbft/vc',
  newView: 'pbft/nv',
  stable: 'pbft/stable',
  prePrepare: (seq: number): string => `pbft/pp/${pad(seq)}`,
  prepared: (seq: number): string => `pbft/pc/${pad(seq)}`,
  batch: (seq: number, digest: Uint8Array): string => `pbft/batch/${pad(seq)}/${toHex(digest)}`,
  delivered: (seq: number): string => `pbft/delivered/${pad(seq)}`,
} as const

/** Own records are trusted only as far as their shape; a record too large is corruption. */
const MAX_RECORD_BYTES = 1 << 30

export const viewRecord = (view: number, target: number, changing: boolean): Uint8Array => encode([view, target, changing])
export const messageRecord = (m: Message): Uint8Array => encodeMessage(m)
export const preparedRecord = encodePreparedRecord
export const batchRecord = encodeBatchRecord
export const proposalRecord = (view: number, seq: number, digest: Uint8Array, primarySig: Uint8Array): Uint8Array =>
  encodeMessage({ type: 'prepare', view, seq, digest, sig: primarySig })

export function deliveredRecord(ids: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(ids.length * 32)
  ids.forEach((id, i) => out.set(id, i * 32))
  return out
}

export interface Restored {
  view: number
  target: number
  changing: boolean
  viewChange: ViewChange | null
  newView: NewView | null
  stable: CheckpointCertificate | null
  /** Accepted proposals: `sig` is the primary's prepare signature. */
  proposals: Prepare[]
  prepared: PreparedCertificate[]
  batches: Array<{ seq: number; batch: Batch }>
  delivered: Array<{ seq: number; ids: Uint8Array[] }>
}

function expectType<T extends Message['type']>(m: Message, type: T, key: string): Extract<Message, { type: T }> {
  if (m.type !== type) throw new DecodeError(`${key}: expected a ${type} record`)
  return m as Extract<Message, { type: T }>
}

const seqOf = (key: string, prefix: string): number => expectUint(Number(key.slice(prefix.length)), `${key}: sequence number`)

/** Parses everything the replica persisted; throws a DecodeError on a corrupt record (refuse to start rather than vote wrongly). */
export function parseRecords(records: ReadonlyArray<{ key: string; value: Uint8Array }>): Restored {
  const r: Restored = { view: 0, target: 0, changing: false, viewChange: null, newView: null, stable: null, proposals: [], prepared: [], batches: [], delivered: [] }
  for (const { key, value } of records) {
    const msg = (): Message => decodeMessage(value, MAX_RECORD_BYTES)
    if (key === KEYS.view) {
      const f = expectArray(decodeCanonical(value, 64, key), key, 3)
      r.view = expectUint(f[0], `${key}.view`)
      r.target = expectUint(f[1], `${key}.target`)
      r.changing = expectBool(f[2], `${key}.changing`)
    } else if (key === KEYS.viewChange) r.viewChange = expectType(msg(), 'viewchange', key)
    else if (key === KEYS.newView) r.newView = expectType(msg(), 'newview', key)
    else if (key === KEYS.stable) r.stable = expectType(msg(), 'stable', key).cert
    else if (key.startsWith('pbft/pp/')) r.proposals.push(expectType(msg(), 'prepare', key))
    else if (key.startsWith('pbft/pc/')) r.prepared.push(decodePreparedRecord(value, MAX_RECORD_BYTES))
    else if (key.startsWith('pbft/batch/')) {
      const [seqPart, digestHex] = key.slice('pbft/batch/'.length).split('/')
      const batch = decodeBatchRecord(value, MAX_RECORD_BYTES)
      if (digestHex === undefined || !equalBytes(digestOf(batch), fromHex(digestHex, key))) throw new DecodeError(`${key}: batch does not match its digest`)
      r.batches.push({ seq: expectUint(Number(seqPart), `${key}: sequence number`), batch })
    }
    else if (key.startsWith('pbft/delivered/')) {
      if (value.byteLength % 32 !== 0) throw new DecodeError(`${key}: not a list of 32-byte ids`)
      const ids: Uint8Array[] = []
      for (let i = 0; i < value.byteLength; i += 32) ids.push(value.slice(i, i + 32))
      r.delivered.push({ seq: seqOf(key, 'pbft/delivered/'), ids })
    } else throw new DecodeError(`${key}: not a consensus record`)
  }
  const bySeq = <T extends { seq: number }>(a: T, b: T): number => a.seq - b.seq
  r.proposals.sort(bySeq)
  r.prepared.sort(bySeq)
  r.batches.sort(bySeq)
  r.delivered.sort(bySeq)
  return r
}
