import { decode as cborDecode, encode as cborEncode } from 'cborg'
import { equalBytes } from './bytes.js'
import { fastDecode, fastEncode } from './cbor-fast.js'
import { DecodeError } from './errors.js'

export { cborHeadBytes, writeCborHead } from './cbor-head.js'

/**
 * Canonical CBOR (RFC 8949 deterministic encoding as cborg does it: shortest integers and
 * floats, sorted map keys, definite lengths). Everything that is hashed or signed goes through
 * here, never through JSON.stringify, so every peer produces the same bytes. The usual values
 * are written directly (cbor-fast.ts), byte-identical to cborg, which encodes the rest.
 */
export function encode(value: unknown): Uint8Array {
  return encodeWithCopy(value, false).bytes
}

/**
 * encode, and with `copy` also what decoding the bytes gives (a fresh value: keys in encoded
 * order, -0 as 0), built in the same pass; `decoded` is undefined where it cannot be (cborg encoded it).
 */
export function encodeWithCopy(value: unknown, copy: boolean): { bytes: Uint8Array; decoded: unknown } {
  try {
    return fastEncode(value, copy)
  } catch {
    // Unsupported (see cbor-fast.ts), or nested too deep for its recursion: cborg decides.
    return { bytes: cborEncode(value), decoded: undefined }
  }
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
    return fastDecode(bytes)
  } catch {
    // Not the fast codec's (see cbor-fast.ts), or too deep for its recursion: cborg decides.
  }
  try {
    return cborDecode(bytes, STRICT)
  } catch (err) {
    throw new DecodeError(`${what}: malformed CBOR (${(err as Error).message})`)
  }
}

