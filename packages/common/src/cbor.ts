import { decode as cborDecode, encode as cborEncode } from 'cborg'
import { equalBytes } from './bytes.js'
import { DecodeError } from './errors.js'

/**
 * Canonical CBOR (RFC 8949 deterministic encoding via cborg: shortest integers and floats,
 * sorted map keys, definite lengths). Everything that is hashed or signed goes through here,
 * never through JSON.stringify, so every peer produces the same bytes.
 */
export function encode(value: unknown): Uint8Array {
  return cborEncode(value)
}

const STRICT = {
  strict: true,
  rejectDuplicateMapKeys: true,
  allowUndefined: false,
  allowIndefinite: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
  useMaps: false,
} as const

/**
 * Decodes bytes from outside. The size is checked before any decoding, and the result is
 * re-encoded and compared so that only the one canonical encoding of a value is accepted
 * (two encodings of one value would give two hashes for the same content).
 */
export function decodeCanonical(bytes: Uint8Array, maxBytes: number, what: string): unknown {
  const value = decodeStrict(bytes, maxBytes, what)
  if (!equalBytes(encode(value), bytes)) throw new DecodeError(`${what}: not in canonical encoding`)
  return value
}

/**
 * decodeCanonical without the re-encoding, for bytes the caller compares whole with a canonical
 * encoding it makes itself (a synced block against the block it rebuilds): that comparison
 * refuses any other encoding, so checking here too would encode the value twice.
 */
export function decodeStrict(bytes: Uint8Array, maxBytes: number, what: string): unknown {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError(`${what}: expected bytes`)
  if (bytes.byteLength > maxBytes) throw new DecodeError(`${what}: ${bytes.byteLength} bytes exceeds the limit of ${maxBytes}`)
  try {
    return cborDecode(bytes, STRICT)
  } catch (err) {
    throw new DecodeError(`${what}: malformed CBOR (${(err as Error).message})`)
  }
}

const TWO_32 = 2 ** 32

/** Bytes of the shortest CBOR head for argument n (a non-negative safe integer). */
export const cborHeadBytes = (n: number): number => (n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < TWO_32 ? 5 : 9)

/**
 * Writes the shortest CBOR head (major type, argument n) at pos, as cborg's deterministic
 * encoding does, and returns the position after it. For the hand-written encoders on hot paths
 * (consensus messages, state values), whose bytes must equal `encode`'s.
 */
export function writeCborHead(out: Uint8Array, pos: number, major: number, n: number): number {
  const m = major << 5
  if (n < 24) {
    out[pos] = m | n
    return pos + 1
  }
  if (n < 0x100) {
    out[pos] = m | 24
    out[pos + 1] = n
    return pos + 2
  }
  if (n < 0x10000) {
    out[pos] = m | 25
    out[pos + 1] = n >>> 8
    out[pos + 2] = n & 0xff
    return pos + 3
  }
  if (n < TWO_32) {
    out[pos] = m | 26
    writeUint32(out, pos + 1, n)
    return pos + 5
  }
  out[pos] = m | 27
  writeUint32(out, pos + 1, Math.floor(n / TWO_32))
  writeUint32(out, pos + 5, n >>> 0)
  return pos + 9
}

function writeUint32(out: Uint8Array, pos: number, n: number): void {
  out[pos] = n >>> 24
  out[pos + 1] = (n >>> 16) & 0xff
  out[pos + 2] = (n >>> 8) & 0xff
  out[pos + 3] = n & 0xff
}
