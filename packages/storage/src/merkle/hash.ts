import { HASH_BYTES, sha256 } from '@vigil/common'

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

// Hash inputs are assembled in one reused buffer: these run for every state write, and
// allocating per call showed up as garbage-collector time in the commit profile.
let scratch = Buffer.alloc(4096)

function room(n: number): Buffer {
  if (scratch.length < n) scratch = Buffer.alloc(n)
  return scratch
}

/** Position of (instance, key) in the tree: sha256(0x04 | u16 len | instance | u16 len | key). */
export function stateKeyHash(instance: string, key: string): Uint8Array {
  const buf = room(5 + 3 * (instance.length + key.length))
  buf[0] = TAG_KEY
  const i = buf.write(instance, 3, 'utf8')
  buf.writeUInt16BE(i, 1)
  const k = buf.write(key, 5 + i, 'utf8')
  buf.writeUInt16BE(k, 3 + i)
  return sha256(buf.subarray(0, 5 + i + k))
}

/** Commits to the value and its version, so moving an old value to a newer height is detected. */
export function stateValueHash(keyHash: Uint8Array, value: Uint8Array, height: number, index: number): Uint8Array {
  const buf = room(45 + value.byteLength)
  buf[0] = TAG_VALUE
  buf.set(keyHash, 1)
  buf.writeUInt32BE(Math.floor(height / 2 ** 32), 33)
  buf.writeUInt32BE(height >>> 0, 37)
  buf.writeUInt32BE(index, 41)
  buf.set(value, 45)
  return sha256(buf.subarray(0, 45 + value.byteLength))
}

const leafBuf = new Uint8Array(1 + 2 * HASH_BYTES)
leafBuf[0] = TAG_LEAF

export function leafHash(keyHash: Uint8Array, valueHash: Uint8Array): Uint8Array {
  leafBuf.set(keyHash, 1)
  leafBuf.set(valueHash, 1 + HASH_BYTES)
  return sha256(leafBuf)
}

/** Buffer for an inner node's hash input: tag | 16-bit child bitmap | present children's hashes in nibble order. */
export const INNER_INPUT_BYTES = 3 + 16 * HASH_BYTES

export function innerHashInput(buf: Uint8Array, bitmap: number): void {
  buf[0] = TAG_INNER
  buf[1] = bitmap >>> 8
  buf[2] = bitmap & 0xff
}

const innerBuf = new Uint8Array(INNER_INPUT_BYTES)

export function innerHash(bitmap: number, children: readonly Uint8Array[]): Uint8Array {
  innerHashInput(innerBuf, bitmap)
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
