import { encode, isWellFormed, writeCborHead } from '@vigil/common'

/**
 * State values as canonical CBOR, written directly. Byte-identical to common's `encode` (cborg)
 * for JSON values (property test in execution-codec.test.ts): safe integers in the shortest
 * head, -0 as 0, strings as UTF-8, map keys sorted by encoded length then bytes. Numbers that
 * are not safe integers take cborg's own encoding of that one number (CBOR items concatenate,
 * so embedding it is exact). cborg cost ~20 µs per appendEntry in tokens, sorting and buffers.
 *
 * Beside the bytes it gives the value as decoding those bytes would (keys in encoded order,
 * -0 as 0, a fresh copy the contract can no longer mutate), so a block reading back what it
 * wrote does not decode it. A value holding a string that is not well-formed UTF-16 (it would
 * come back changed) is encoded by cborg whole and gets no decoded form.
 */
export interface EncodedValue {
  bytes: Uint8Array
  /** What decoding `bytes` gives; undefined when it must be decoded. */
  decoded: unknown
}

class NotWellFormed extends Error {}

let buf = Buffer.allocUnsafe(64 * 1024)
let pos = 0

function reserve(n: number): void {
  if (pos + n <= buf.length) return
  const bigger = Buffer.allocUnsafe(Math.max(2 * buf.length, pos + n))
  buf.copy(bigger, 0, 0, pos)
  buf = bigger
}

function head(major: number, n: number): void {
  reserve(9)
  pos = writeCborHead(buf, pos, major, n)
}

function raw(bytes: Uint8Array): void {
  reserve(bytes.byteLength)
  buf.set(bytes, pos)
  pos += bytes.byteLength
}

function string(s: string): void {
  if (!isWellFormed(s)) throw new NotWellFormed()
  const len = Buffer.byteLength(s, 'utf8')
  head(3, len)
  reserve(len)
  pos += buf.write(s, pos, 'utf8')
}

const isAscii = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false
  return true
}

/** CBOR map key order: shorter UTF-8 first, then bytewise (for ASCII, code-unit order is byte order). */
function sortKeys(keys: string[]): string[] {
  if (keys.every(isAscii)) return keys.sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0))
  const bytes = new Map(keys.map((k) => [k, Buffer.from(k, 'utf8')]))
  return keys.sort((a, b) => {
    const x = bytes.get(a)!
    const y = bytes.get(b)!
    return x.length - y.length || Buffer.compare(x, y)
  })
}

/** Writes v (a JSON value, checked by the caller) and returns its decoded form. */
function write(v: unknown): unknown {
  switch (typeof v) {
    case 'string':
      string(v)
      return v
    case 'boolean':
      head(7, v ? 21 : 20)
      return v
    case 'number':
      if (!Number.isSafeInteger(v)) {
        raw(encode(v))
        return v
      }
      if (v >= 0) head(0, v)
      else head(1, -1 - v)
      return v === 0 ? 0 : v
    case 'object': {
      if (v === null) {
        head(7, 22)
        return null
      }
      if (Array.isArray(v)) {
        head(4, v.length)
        const out = new Array<unknown>(v.length)
        for (let i = 0; i < v.length; i++) out[i] = write(v[i])
        return out
      }
      const o = v as Record<string, unknown>
      const keys = sortKeys(Object.keys(o))
      head(5, keys.length)
      const out: Record<string, unknown> = {}
      for (const k of keys) {
        string(k)
        out[k] = write(o[k])
      }
      return out
    }
    default:
      throw new TypeError(`not a JSON value: ${typeof v}`)
  }
}

/** Canonical CBOR of a JSON value (checked by the caller: expectJson) and its decoded form. */
export function encodeValue(value: unknown): EncodedValue {
  pos = 0
  try {
    const decoded = write(value)
    return { bytes: new Uint8Array(buf.subarray(0, pos)), decoded }
  } catch (err) {
    if (err instanceof NotWellFormed) return { bytes: encode(value), decoded: undefined }
    throw err
  }
}

/** A private copy of a decoded JSON value: contracts may mutate what they read. */
export function copyValue(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) return v.map(copyValue)
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(v)) out[k] = copyValue((v as Record<string, unknown>)[k])
  return out
}
