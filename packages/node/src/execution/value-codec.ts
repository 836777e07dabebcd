import { encodeWithCopy } from '@vigil/common'

/**
 * State values as canonical CBOR (common's encode), with the value as decoding those bytes
 * would give it (keys in encoded order, -0 as 0, a fresh copy the contract can no longer
 * mutate), made in the same pass, so a block reading back what it wrote does not decode it.
 * A value whose decoding would differ from it (a string that is not well-formed UTF-16, or
 * that starts with U+FEFF, which cborg's decoder drops) is encoded by cborg and gets no decoded form.
 */
export interface EncodedValue {
  bytes: Uint8Array
  /** What decoding `bytes` gives; undefined when it must be decoded. */
  decoded: unknown
}

/** Canonical CBOR of a JSON value (checked by the caller: expectJson) and its decoded form. */
export function encodeValue(value: unknown): EncodedValue {
  return encodeWithCopy(value, true)
}

/** A private copy of a decoded JSON value: contracts may mutate what they read. */
export function copyValue(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) return v.map(copyValue)
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(v)) out[k] = copyValue((v as Record<string, unknown>)[k])
  return out
}
