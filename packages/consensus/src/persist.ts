import { DecodeError, decodeCanonical, encode, expectArray, expectBool, expectUint } from '@vigil/common'
import { decodeMessage, decodePreparedRecord, encodeMessage, encodePreparedRecord } from './codec.js'
import type { Message, NewView, PrePrepare, ViewChange } from './messages.js'
import type { CheckpointCertificate, PreparedCertificate } from './types.js'

/**
 * The replica's durable records. Keys are the replica's own ("pbft/..."), sequence numbers
 * zero-padded so a sorted store lists them in order. What each record guarantees after a restart:
 *   pbft/view            [view, target, changing]: never vote in a view it has left
 *   pbft/vc              the VIEW-CHANGE it sent last: re-sent as is, never a different one
 *   pbft/nv              the NEW-VIEW that installed its view: re-proposals and relaying to laggers
 *   pbft/stable          its stable checkpoint certificate: low watermark and VIEW-CHANGE proof
 *   pbft/pp/<seq>        the PRE-PREPARE it accepted (= its PREPARE) or proposed at seq
 *   pbft/pc/<seq>        its prepared certificate at seq (= its COMMIT), reported in VIEW-CHANGEs;
 *                        without the batch while pbft/pp/<seq> holds the same one
 *   pbft/delivered/<seq> request ids delivered at seq (dedup memory)
 * pp/pc are deleted when a stable checkpoint passes them, delivered/ one window later:
 * at most about 3L + 4 records.
 */
const pad = (seq: number): string => seq.toString().padStart(16, '0')
export const KEYS = {
  view: 'pbft/view',
  viewChange: 'pbft/vc',
  newView: 'pbft/nv',
  stable: 'pbft/stable',
  prePrepare: (seq: number): string => `pbft/pp/${pad(seq)}`,
  prepared: (seq: number): string => `pbft/pc/${pad(seq)}`,
  delivered: (seq: number): string => `pbft/delivered/${pad(seq)}`,
} as const

/** Own records are trusted only as far as their shape; a record too large is corruption. */
const MAX_RECORD_BYTES = 1 << 30

export const viewRecord = (view: number, target: number, changing: boolean): Uint8Array => encode([view, target, changing])
export const messageRecord = (m: Message): Uint8Array => encodeMessage(m)
export const preparedRecord = encodePreparedRecord

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
  prePrepares: PrePrepare[]
  prepared: PreparedCertificate[]
  delivered: Array<{ seq: number; ids: Uint8Array[] }>
}

function expectType<T extends Message['type']>(m: Message, type: T, key: string): Extract<Message, { type: T }> {
  if (m.type !== type) throw new DecodeError(`${key}: expected a ${type} record`)
  return m as Extract<Message, { type: T }>
}

const seqOf = (key: string, prefix: string): number => expectUint(Number(key.slice(prefix.length)), `${key}: sequence number`)

/** Parses everything the replica persisted; throws a DecodeError on a corrupt record (refuse to start rather than vote wrongly). */
export function parseRecords(records: ReadonlyArray<{ key: string; value: Uint8Array }>): Restored {
  const r: Restored = { view: 0, target: 0, changing: false, viewChange: null, newView: null, stable: null, prePrepares: [], prepared: [], delivered: [] }
  const prepared: Array<ReturnType<typeof decodePreparedRecord>> = []
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
    else if (key.startsWith('pbft/pp/')) r.prePrepares.push(expectType(msg(), 'preprepare', key))
    else if (key.startsWith('pbft/pc/')) prepared.push(decodePreparedRecord(value, MAX_RECORD_BYTES))
    else if (key.startsWith('pbft/delivered/')) {
      if (value.byteLength % 32 !== 0) throw new DecodeError(`${key}: not a list of 32-byte ids`)
      const ids: Uint8Array[] = []
      for (let i = 0; i < value.byteLength; i += 32) ids.push(value.slice(i, i + 32))
      r.delivered.push({ seq: seqOf(key, 'pbft/delivered/'), ids })
    } else throw new DecodeError(`${key}: not a consensus record`)
  }
  for (const p of prepared) {
    const pp = r.prePrepares.find((x) => x.seq === p.seq && x.view === p.view)
    const batch = p.batch ?? pp?.batch
    if (batch === undefined) throw new DecodeError(`${KEYS.prepared(p.seq)}: no batch, and no pre-prepare record of view ${p.view} holds it`)
    r.prepared.push({ ...p, batch })
  }
  const bySeq = <T extends { seq: number }>(a: T, b: T): number => a.seq - b.seq
  r.prePrepares.sort(bySeq)
  r.prepared.sort(bySeq)
  r.delivered.sort(bySeq)
  return r
}
