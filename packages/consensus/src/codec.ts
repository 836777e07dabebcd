import {
  DecodeError, HASH_BYTES, SIGNATURE_BYTES, decodeCanonical, decodeCertificateFields, encode, expectArray, expectBytes, expectUint,
  type ReplicaSignature,
} from '@vigil/common'
import { encodeSimple } from './cbor.js'
import type { Message, NewViewEntry, ViewChange } from './messages.js'
import { requestOf, type Batch, type CheckpointCertificate, type PreparedCertificate, type Request } from './types.js'

/**
 * Canonical CBOR for PBFT messages: an array led by a type tag. Shape limits here are the
 * protocol-independent ones (field types, lengths, list caps); the replica applies the chain's
 * parameters (batch size, watermarks, validator count).
 */
const TAG = { preprepare: 0, prepare: 1, commit: 2, checkpoint: 3, viewchange: 4, newview: 5, status: 6, committed: 7, stable: 8, fetch: 9, batch: 10 } as const

/** Caps on list lengths, so a small message cannot announce a huge list. */
export const MAX_VALIDATORS = 1024
export const MAX_BATCH_REQUESTS = 10_000
export const MAX_PREPARED_PER_VIEW_CHANGE = 100_000

const MAX_REPLICA = MAX_VALIDATORS - 1

/** Requests travel as their payloads alone: each id is derived on decode (requestOf), never taken from a peer. */
const encBatch = (b: Batch): unknown[] => [b.time, b.parent, b.requests.map((r) => r.payload)]
const encSigs = (s: readonly ReplicaSignature[]): unknown[] => s.map((x) => [x.replica, x.sig])
const encCheckpointCert = (c: CheckpointCertificate): unknown[] => [c.seq, c.blockHash, encSigs(c.sigs)]
const encPrepared = (p: PreparedCertificate): unknown[] => [p.view, p.seq, p.digest, encSigs(p.sigs)]
const encViewChange = (m: ViewChange): unknown[] => [TAG.viewchange, m.view, m.replica, encCheckpointCert(m.checkpoint), m.prepared.map(encPrepared), m.sig]

function fields(m: Message): unknown[] {
  switch (m.type) {
    case 'preprepare': return [TAG.preprepare, m.view, m.seq, encBatch(m.batch), m.sig]
    case 'prepare': return [TAG.prepare, m.view, m.seq, m.digest, m.sig]
    case 'commit': return [TAG.commit, m.view, m.seq, m.digest, m.sig]
    case 'checkpoint': return [TAG.checkpoint, m.seq, m.blockHash, m.sig]
    case 'viewchange': return encViewChange(m)
    case 'newview': return [TAG.newview, m.view, m.viewChanges.map(encViewChange), m.pre.map((e) => [e.seq, e.digest, e.sig]), m.sig]
    case 'status': return [TAG.status, m.view, m.lastExecuted]
    case 'committed': return [TAG.committed, encBatch(m.batch), [m.cert.view, m.cert.seq, m.cert.digest, encSigs(m.cert.sigs)]]
    case 'stable': return [TAG.stable, encCheckpointCert(m.cert)]
    case 'fetch': return [TAG.fetch, m.seq, m.digest]
    case 'batch': return [TAG.batch, m.seq, m.digest, encBatch(m.batch)]
  }
}

/** Canonical CBOR of the fields: written directly when they are all uints, bytes, null and arrays (always, for well-formed messages). */
const encodeFields = (f: unknown[]): Uint8Array => encodeSimple(f) ?? encode(f)

export function encodeMessage(m: Message): Uint8Array {
  return encodeFields(fields(m))
}

const uint = (v: unknown, what: string): number => expectUint(v, what)
const hash = (v: unknown, what: string): Uint8Array => expectBytes(v, what, HASH_BYTES)
const sig = (v: unknown, what: string): Uint8Array => expectBytes(v, what, SIGNATURE_BYTES)

function list(v: unknown, what: string, max: number): unknown[] {
  const a = expectArray(v, what)
  if (a.length > max) throw new DecodeError(`${what}: more than ${max} entries`)
  return a
}

function decBatch(v: unknown, what: string): Batch {
  const f = expectArray(v, what, 3)
  const parent = f[1] === null ? null : hash(f[1], `${what}.parent`)
  const requests = list(f[2], `${what}.requests`, MAX_BATCH_REQUESTS).map((r, i): Request => requestOf(expectBytes(r, `${what}.requests[${i}]`)))
  return { time: uint(f[0], `${what}.time`), parent, requests }
}

function decSigs(v: unknown, what: string): ReplicaSignature[] {
  return list(v, what, MAX_VALIDATORS).map((s, i) => {
    const sf = expectArray(s, `${what}[${i}]`, 2)
    return { replica: expectUint(sf[0], `${what}[${i}].replica`, MAX_REPLICA), sig: sig(sf[1], `${what}[${i}].sig`) }
  })
}

function decCheckpointCert(v: unknown, what: string): CheckpointCertificate {
  const f = expectArray(v, what, 3)
  return { seq: uint(f[0], `${what}.seq`), blockHash: hash(f[1], `${what}.blockHash`), sigs: decSigs(f[2], `${what}.sigs`) }
}

function decPrepared(v: unknown, what: string): PreparedCertificate {
  const f = expectArray(v, what, 4)
  return { view: uint(f[0], `${what}.view`), seq: uint(f[1], `${what}.seq`), digest: hash(f[2], `${what}.digest`), sigs: decSigs(f[3], `${what}.sigs`) }
}

function decViewChange(v: unknown, what: string): ViewChange {
  const f = expectArray(v, what, 6)
  if (f[0] !== TAG.viewchange) throw new DecodeError(`${what}: not a view-change`)
  const prepared = list(f[4], `${what}.prepared`, MAX_PREPARED_PER_VIEW_CHANGE).map((p, i) => decPrepared(p, `${what}.prepared[${i}]`))
  return {
    type: 'viewchange', view: uint(f[1], `${what}.view`), replica: expectUint(f[2], `${what}.replica`, MAX_REPLICA),
    checkpoint: decCheckpointCert(f[3], `${what}.checkpoint`), prepared, sig: sig(f[5], `${what}.sig`),
  }
}

function decFields(f: unknown[]): Message {
  const len = (n: number, what: string): void => void expectArray(f, what, n)
  switch (f[0]) {
    case TAG.preprepare:
      len(5, 'preprepare')
      return { type: 'preprepare', view: uint(f[1], 'preprepare.view'), seq: uint(f[2], 'preprepare.seq'), batch: decBatch(f[3], 'preprepare.batch'), sig: sig(f[4], 'preprepare.sig') }
    case TAG.prepare:
    case TAG.commit: {
      const type = f[0] === TAG.prepare ? 'prepare' : 'commit'
      len(5, type)
      return { type, view: uint(f[1], `${type}.view`), seq: uint(f[2], `${type}.seq`), digest: hash(f[3], `${type}.digest`), sig: sig(f[4], `${type}.sig`) }
    }
    case TAG.checkpoint:
      len(4, 'checkpoint')
      return { type: 'checkpoint', seq: uint(f[1], 'checkpoint.seq'), blockHash: hash(f[2], 'checkpoint.blockHash'), sig: sig(f[3], 'checkpoint.sig') }
    case TAG.viewchange:
      return decViewChange(f, 'viewchange')
    case TAG.newview: {
      len(5, 'newview')
      const pre = list(f[3], 'newview.pre', MAX_PREPARED_PER_VIEW_CHANGE).map((e, i): NewViewEntry => {
        const ef = expectArray(e, `newview.pre[${i}]`, 3)
        return { seq: uint(ef[0], `newview.pre[${i}].seq`), digest: hash(ef[1], `newview.pre[${i}].digest`), sig: sig(ef[2], `newview.pre[${i}].sig`) }
      })
      const viewChanges = list(f[2], 'newview.viewChanges', MAX_VALIDATORS).map((v, i) => decViewChange(v, `newview.viewChanges[${i}]`))
      return { type: 'newview', view: uint(f[1], 'newview.view'), viewChanges, pre, sig: sig(f[4], 'newview.sig') }
    }
    case TAG.status:
      len(3, 'status')
      return { type: 'status', view: uint(f[1], 'status.view'), lastExecuted: uint(f[2], 'status.lastExecuted') }
    case TAG.committed: {
      len(3, 'committed')
      const cert = decodeCertificateFields(f[2], 'committed.cert')
      if (cert.sigs.length > MAX_VALIDATORS) throw new DecodeError(`committed.cert.sigs: more than ${MAX_VALIDATORS} entries`)
      return { type: 'committed', batch: decBatch(f[1], 'committed.batch'), cert }
    }
    case TAG.stable:
      len(2, 'stable')
      return { type: 'stable', cert: decCheckpointCert(f[1], 'stable.cert') }
    case TAG.fetch:
      len(3, 'fetch')
      return { type: 'fetch', seq: uint(f[1], 'fetch.seq'), digest: hash(f[2], 'fetch.digest') }
    case TAG.batch:
      len(4, 'batch')
      return { type: 'batch', seq: uint(f[1], 'batch.seq'), digest: hash(f[2], 'batch.digest'), batch: decBatch(f[3], 'batch.batch') }
    default:
      throw new DecodeError('message.type: unknown message type')
  }
}

/** Decodes bytes from a peer; the size is checked before decoding. Throws a DecodeError naming the field. */
export function decodeMessage(bytes: Uint8Array, maxBytes: number): Message {
  return decFields(expectArray(decodeCanonical(bytes, maxBytes, 'message'), 'message'))
}

/** A persisted prepared certificate (persist.ts): digest only, like the one in a VIEW-CHANGE. */
export const encodePreparedRecord = (p: PreparedCertificate): Uint8Array => encodeFields(encPrepared(p))

export function decodePreparedRecord(bytes: Uint8Array, maxBytes: number): PreparedCertificate {
  return decPrepared(decodeCanonical(bytes, maxBytes, 'prepared record'), 'prepared record')
}

/** A persisted batch (persist.ts), in its wire form: ids are derived again on decode. */
export const encodeBatchRecord = (b: Batch): Uint8Array => encodeFields(encBatch(b))

export function decodeBatchRecord(bytes: Uint8Array, maxBytes: number): Batch {
  return decBatch(decodeCanonical(bytes, maxBytes, 'batch record'), 'batch record')
}
