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
  if (!(bytes instanceof Uint8Array)) throw new DecodeError(`${what}: expected bytes`)
  if (bytes.byteLength > maxBytes) throw new DecodeError(`${what}: ${bytes.byteLength} bytes exceeds the limit of ${maxBytes}`)
  let value: unknown
  try {
    value = cborDecode(bytes, STRICT)
  } catch (err) {
    throw new DecodeError(`${what}: malformed CBOR (${(err as Error).message})`)
  }
  if (!equalBytes(encode(value), bytes)) throw new DecodeError(`${what}: not in canonical encoding`)
  return value
}
