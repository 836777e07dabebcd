import { HASH_BYTES, utf8 } from '@vigil/common'

/**
 * LevelDB key layout. One database, one leading byte per keyspace; heights are 8-byte
 * big-endian so LevelDB's byte order is height order and a range scan walks the chain.
 *
 *   b|height            -> block (encodeBlock)
 *   h|height            -> its header (encodeHeader; the block's own header slice), so reading a header skips the body
 *   n|headerHash        -> height
 *   c|height            -> commit certificate
 *   t|txId              -> height | index
 *   s|instance 0 key    -> world-state leaf: height | index | value (instance names have no 0 byte)
 *   y|instance 0 u16 len key|height|index -> history entry, empty: the value and transaction are read from block `height`
 *   H                   -> head: height | hash | stateRoot | time
 *   V                   -> store format version (u32)
 *   x|key               -> consensus log (opaque)
 */
export const P_BLOCK = 0x62 // b
export const P_HEADER = 0x68 // h
export const P_HASH = 0x6e // n
export const P_CERT = 0x63 // c
export const P_TX = 0x74 // t
export const P_STATE = 0x73 // s
export const P_HISTORY = 0x79 // y
export const P_HEAD = 0x48 // H
export const P_CONSENSUS = 0x78 // x
export const P_FORMAT = 0x56 // V

export const HEAD_KEY = Uint8Array.of(P_HEAD)
export const FORMAT_KEY = Uint8Array.of(P_FORMAT)

// Byte arithmetic rather than a DataView: a DataView made per call cost ~4 us (a block does 1,500 of these).
export function writeU32(buf: Uint8Array, offset: number, v: number): void {
  buf[offset] = v >>> 24
  buf[offset + 1] = v >>> 16
  buf[offset + 2] = v >>> 8
  buf[offset + 3] = v
}

export function readU32(buf: Uint8Array, offset: number): number {
  return buf[offset]! * 2 ** 24 + ((buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!)
}

export function writeU64(buf: Uint8Array, offset: number, v: number): void {
  writeU32(buf, offset, Math.floor(v / 2 ** 32))
  writeU32(buf, offset + 4, v >>> 0)
}

export function readU64(buf: Uint8Array, offset: number): number {
  return readU32(buf, offset) * 2 ** 32 + readU32(buf, offset + 4)
}

export function u64(v: number): Uint8Array {
  const b = new Uint8Array(8)
  writeU64(b, 0, v)
  return b
}

function withHeight(prefix: number, height: number): Uint8Array {
  const k = new Uint8Array(9)
  k[0] = prefix
  writeU64(k, 1, height)
  return k
}

export const blockKey = (height: number): Uint8Array => withHeight(P_BLOCK, height)
export const headerKey = (height: number): Uint8Array => withHeight(P_HEADER, height)
export const certKey = (height: number): Uint8Array => withHeight(P_CERT, height)

/**
 * Record keys and values that go into a block's batch are Buffers: LevelDB's 'buffer' encoding
 * wraps any other Uint8Array in a new Buffer first (~1,500 per block of 500 transactions).
 */
function withBytes(prefix: number, b: Uint8Array): Uint8Array {
  const k = Buffer.allocUnsafe(1 + b.byteLength)
  k[0] = prefix
  k.set(b, 1)
  return k
}

export const hashKey = (hash: Uint8Array): Uint8Array => withBytes(P_HASH, hash)
export const txKey = (id: Uint8Array): Uint8Array => withBytes(P_TX, id)
export const consensusKey = (key: string): Uint8Array => withBytes(P_CONSENSUS, utf8(key))

/** s|instance|0: the start of an instance's state; followed by the key's UTF-8 bytes. */
export function statePrefix(instance: string): Uint8Array {
  return stateKey(instance, '')
}

/** Built with Buffer#write in one buffer: these run twice per state write in a block's batch. */
export function stateKey(instance: string, key: string): Uint8Array {
  const k = Buffer.allocUnsafe(2 + Buffer.byteLength(instance) + Buffer.byteLength(key))
  k[0] = P_STATE
  const zero = 1 + k.write(instance, 1)
  k[zero] = 0
  k.write(key, zero + 1)
  return k
}

/** Splits s|instance|0|key back into its parts; null if the record key is malformed. */
export function parseStateKey(k: Uint8Array): { instance: string; key: string } | null {
  const zero = k.indexOf(0, 1)
  if (k[0] !== P_STATE || zero < 0) return null
  try {
    const dec = new TextDecoder('utf-8', { fatal: true })
    return { instance: dec.decode(k.subarray(1, zero)), key: dec.decode(k.subarray(zero + 1)) }
  } catch {
    return null
  }
}

/** y|instance|0|u16 len|key: every history entry of one key, in height order after it. */
export function historyPrefix(instance: string, key: string): Uint8Array {
  const kLen = Buffer.byteLength(key)
  const k = Buffer.alloc(4 + Buffer.byteLength(instance) + kLen)
  k[0] = P_HISTORY
  const zero = 1 + k.write(instance, 1)
  k.writeUInt16BE(kLen, zero + 1)
  k.write(key, zero + 3)
  return k
}

export function historyKey(prefix: Uint8Array, height: number, index: number): Uint8Array {
  const k = Buffer.allocUnsafe(prefix.byteLength + 12)
  k.set(prefix)
  writeU64(k, prefix.byteLength, height)
  writeU32(k, prefix.byteLength + 8, index)
  return k
}

/** Smallest key above every key that starts with `prefix` (for `lt` bounds). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = new Uint8Array(prefix) // a copy: on a Buffer, slice() would share memory
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++
      return end.subarray(0, i + 1)
    }
  }
  return Uint8Array.of(0xff, 0xff)
}

export const TX_LOC_BYTES = 12
export const HEAD_BYTES = 8 + 2 * HASH_BYTES + 8
