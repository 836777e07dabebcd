import { decodeCanonical, decodeCertificate, encode, expectArray, expectBytes, expectString, expectUint, HASH_BYTES, MAX_BLOCK_BYTES, MAX_CERT_BYTES, type CommitCertificate } from '@vigil/common'

/**
 * /vigil/sync/2: request/response between validators.
 *   ['status']               -> [height, headHash, headCertificateBytes | null]
 *   ['blocks', from, count]  -> [[blockBytes, certificateBytes | null], ...] (consecutive, from `from`)
 * Responses are bounded in blocks and bytes; everything is checked before use.
 */
export const SYNC_PROTOCOL = '/vigil/sync/2'
export const MAX_BLOCKS_PER_REQUEST = 64
export const MAX_SYNC_RESPONSE_BYTES = 24 * 1024 * 1024
/** The server stops adding blocks to a response past this many bytes. */
export const SYNC_RESPONSE_SOFT_BYTES = 8 * 1024 * 1024
const MAX_SYNC_REQUEST_BYTES = 64

export type SyncRequest = { kind: 'status' } | { kind: 'blocks'; from: number; count: number }

export function encodeSyncRequest(r: SyncRequest): Uint8Array {
  return encode(r.kind === 'status' ? ['status'] : ['blocks', r.from, r.count])
}

export function decodeSyncRequest(bytes: Uint8Array): SyncRequest {
  const f = expectArray(decodeCanonical(bytes, MAX_SYNC_REQUEST_BYTES, 'sync request'), 'sync request')
  const kind = expectString(f[0], 'sync request kind', 16)
  if (kind === 'status' && f.length === 1) return { kind }
  if (kind === 'blocks' && f.length === 3) {
    return { kind, from: expectUint(f[1], 'sync request from'), count: expectUint(f[2], 'sync request count', MAX_BLOCKS_PER_REQUEST) }
  }
  throw new RangeError(`sync request: unknown request "${kind}"`)
}

/** A status answer's size bound: the head's commit certificate is the evidence for the height it claims. */
export const MAX_STATUS_BYTES = MAX_CERT_BYTES + 128

export interface SyncStatus {
  height: number
  hash: Uint8Array
  /** The commit certificate of the block at `height`, as the peer stores it (null at genesis). */
  cert: CommitCertificate | null
}

export const encodeStatus = (height: number, hash: Uint8Array, cert: Uint8Array | null): Uint8Array => encode([height, hash, cert])

/** An answer of two fields (a peer that sends no certificate) decodes with a null one. */
export function decodeStatus(bytes: Uint8Array): SyncStatus {
  const f = expectArray(decodeCanonical(bytes, MAX_STATUS_BYTES, 'sync status'), 'sync status')
  if (f.length !== 2 && f.length !== 3) throw new RangeError(`sync status: ${f.length} fields`)
  const cert = f[2] === undefined || f[2] === null ? null : decodeCertificate(expectBytes(f[2], 'sync status certificate'))
  return { height: expectUint(f[0], 'sync status height'), hash: expectBytes(f[1], 'sync status hash', HASH_BYTES), cert }
}

export interface RawBlock {
  block: Uint8Array
  cert: Uint8Array | null
}

export const encodeBlocks = (blocks: RawBlock[]): Uint8Array => encode(blocks.map((b) => [b.block, b.cert]))

export function decodeBlocks(bytes: Uint8Array): RawBlock[] {
  const list = expectArray(decodeCanonical(bytes, MAX_SYNC_RESPONSE_BYTES, 'sync blocks'), 'sync blocks')
  if (list.length > MAX_BLOCKS_PER_REQUEST) throw new RangeError(`sync blocks: ${list.length} blocks, limit ${MAX_BLOCKS_PER_REQUEST}`)
  return list.map((e, i) => {
    const f = expectArray(e, `sync blocks[${i}]`, 2)
    const block = expectBytes(f[0], `sync blocks[${i}].block`)
    if (block.byteLength > MAX_BLOCK_BYTES) throw new RangeError(`sync blocks[${i}]: block too large`)
    const cert = f[1] === null ? null : expectBytes(f[1], `sync blocks[${i}].cert`)
    if (cert !== null && cert.byteLength > MAX_CERT_BYTES) throw new RangeError(`sync blocks[${i}]: certificate too large`)
    return { block, cert }
  })
}
