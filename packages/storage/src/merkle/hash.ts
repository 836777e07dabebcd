import { HASH_BYTES, sha256, utf8 } from '@vigil/common'

/**
 * Hashes of the authenticated world state. Each kind of input starts with its own tag byte so a
 * leaf can never be read as an inner node or a key hash (second-preimage safety). Fixed-width,
 * length-prefixed binary encodings instead of CBOR: they are canonical too and several times
 * cheaper, and these run once per state write.
 */
const TAG_LEAF = 0x00
const TAG_INNER = 0x01
const TAG_EMPTY = 0x02
const TAG_VALUE = 0x03
const TAG_KEY = 0x04

export const MAX_DEPTH = HASH_BYTES * 2 // nibbles in a key hash

const EMPTY_ROOT = sha256(Uint8Array.of(TAG_EMPTY))

/** State root of the empty state (the genesis block's stateRoot). */
export function emptyStateRoot(): Uint8Array {
  return EMPTY_ROOT.slice()
}

/** Position of (instance, key) in the tree: sha256(0x04 | u16 len | instance | u16 len | key). */
export function stateKeyHash(instance: string, key: string): Uint8Array {
  const i = utf8(instance)
  const k = utf8(key)
  const buf = new Uint8Array(5 + i.byteLength + k.byteLength)
  const dv = new DataView(buf.buffer)
  buf[0] = TAG_KEY
  dv.setUint16(1, i.byteLength)
  buf.set(i, 3)
  dv.setUint16(3 + i.byteLength, k.byteLength)
  buf.set(k, 5 + i.byteLength)
  return sha256(buf)
}

/** Commits to the value and its version, so moving an old value to a newer height is detected. */
export function stateValueHash(keyHash: Uint8Array, value: Uint8Array, height: number, index: number): Uint8Array {
  const buf = new Uint8Array(1 + HASH_BYTES + 12 + value.byteLength)
  const dv = new DataView(buf.buffer)
  buf[0] = TAG_VALUE
  buf.set(keyHash, 1)
  dv.setUint32(33, Math.floor(height / 2 ** 32))
  dv.setUint32(37, height >>> 0)
  dv.setUint32(41, index)
  buf.set(value, 45)
  return sha256(buf)
}

const leafBuf = new Uint8Array(1 + 2 * HASH_BYTES)
leafBuf[0] = TAG_LEAF

export function leafHash(keyHash: Uint8Array, valueHash: Uint8Array): Uint8Array {
  leafBuf.set(keyHash, 1)
  leafBuf.set(valueHash, 1 + HASH_BYTES)
  return sha256(leafBuf)
}

const innerBuf = new Uint8Array(3 + 16 * HASH_BYTES)
innerBuf[0] = TAG_INNER

/** Inner node: tag | 16-bit child bitmap | hashes of the present children in nibble order. */
export function innerHash(bitmap: number, children: readonly Uint8Array[]): Uint8Array {
  innerBuf[1] = bitmap >>> 8
  innerBuf[2] = bitmap & 0xff
  let o = 3
  for (const c of children) {
    innerBuf.set(c, o)
    o += HASH_BYTES
  }
  return sha256(innerBuf.subarray(0, o))
}

export function nibble(keyHash: Uint8Array, depth: number): number {
  const b = keyHash[depth >> 1]!
  return depth & 1 ? b & 15 : b >> 4
}

export function popcount16(x: number): number {
  let n = 0
  for (let v = x; v !== 0; v &= v - 1) n++
  return n
}
