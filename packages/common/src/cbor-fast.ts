import { isUtf8 } from 'node:buffer'
import { encode as cborgEncode } from 'cborg'
import { writeCborHead } from './cbor-head.js'
import { sortInPlace } from './sort.js'

/**
 * Canonical CBOR written and read directly, for the values Vigil hashes, signs and stores:
 * byte strings, text, safe integers, floats, booleans, null, arrays and plain objects with text
 * keys. cborg's token objects made it the largest item of execution's and the audit's profiles
 * and a large share of their garbage (execute-bench: appendEntry's build CPU went from 111 to
 * 79 us per transaction with this codec).
 *
 * Both directions give exactly what cborg gives, or give up: anything else (undefined, tags,
 * big integers, non-canonical or malformed bytes, a lone surrogate, a leading BOM (which
 * cborg's decoder drops from long strings), "__proto__" keys, duplicate keys, trailing bytes)
 * throws Unsupported, and the caller hands the whole value to cborg, so accepted inputs,
 * values, bytes and error messages stay cborg's (property tests in common.test.ts compare the
 * two on random values and bytes).
 */
class Unsupported extends Error {}
const unsupported = new Unsupported('not in the fast codec')

// ---- encoding ----

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

const BOM_CHAR = 0xfeff

/** Most strings here are short and ASCII (keys, hex, dates): written by a loop, ~2.5x faster than Buffer.write with its checks. */
const SHORT_TEXT = 64

/** Writes s; with `copy`, refuses one that decoding would change. */
function text(s: string, copy: boolean): void {
  const n = s.length
  if (n < SHORT_TEXT) {
    reserve(2 + n)
    let p = writeCborHead(buf, pos, 3, n)
    let i = 0
    for (; i < n; i++) {
      const c = s.charCodeAt(i)
      if (c > 0x7f) break
      buf[p++] = c
    }
    if (i === n) {
      pos = p
      return
    }
  }
  // A lone surrogate becomes U+FFFD in UTF-8; cborg's decoder drops a leading BOM from long strings.
  if (!(s as string & { isWellFormed(): boolean }).isWellFormed() || (copy && s.charCodeAt(0) === BOM_CHAR)) throw unsupported
  const len = Buffer.byteLength(s, 'utf8')
  head(3, len)
  reserve(len)
  pos += buf.write(s, pos, 'utf8')
}

const isAscii = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false
  return true
}

const asciiOrder = (a: string, b: string): number => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)

/** cborg's map key order: shorter UTF-8 first, then bytewise (for ASCII, code-unit order is byte order). */
function sortKeys(keys: string[]): string[] {
  // In place: Array.prototype.sort made ~6 KB of garbage per transaction here.
  return keys.every(isAscii) ? sortInPlace(keys, asciiOrder) : sortUnicode(keys)
}

function sortUnicode(keys: string[]): string[] {
  const bytes = new Map(keys.map((k) => [k, Buffer.from(k, 'utf8')]))
  return keys.sort((a, b) => {
    const x = bytes.get(a)!
    const y = bytes.get(b)!
    return x.length - y.length || Buffer.compare(x, y)
  })
}

const OBJECT_PROTO = Object.prototype

/**
 * Writes v; with `copy`, returns what decoding its bytes gives (a fresh value: keys in encoded
 * order, -0 as 0, bytes copied), else undefined.
 */
function write(v: unknown, copy: boolean): unknown {
  switch (typeof v) {
    case 'string':
      text(v, copy)
      return v
    case 'boolean':
      head(7, v ? 21 : 20)
      return v
    case 'number':
      if (!Number.isSafeInteger(v)) {
        // cborg picks the shortest float that holds v exactly; CBOR items concatenate.
        if (!Number.isFinite(v)) throw unsupported
        raw(cborgEncode(v))
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
      if (v instanceof Uint8Array) {
        head(2, v.byteLength)
        raw(v)
        return copy ? new Uint8Array(v) : undefined
      }
      if (Array.isArray(v)) {
        head(4, v.length)
        const out = copy ? new Array<unknown>(v.length) : undefined
        for (let i = 0; i < v.length; i++) {
          const d = write(v[i], copy)
          if (out !== undefined) out[i] = d
        }
        return out
      }
      const proto = Object.getPrototypeOf(v)
      if (proto !== OBJECT_PROTO && proto !== null) throw unsupported
      const o = v as Record<string, unknown>
      const keys = sortKeys(Object.keys(o))
      head(5, keys.length)
      const out: Record<string, unknown> | undefined = copy ? {} : undefined
      for (const k of keys) {
        if (k === '__proto__') throw unsupported
        text(k, copy)
        const d = write(o[k], copy)
        if (out !== undefined) out[k] = d
      }
      return out
    }
    default:
      throw unsupported
  }
}

/** Canonical CBOR of v; throws Unsupported where cborg must encode it. With `copy`, also its decoded form. */
export function fastEncode(v: unknown, copy: boolean): { bytes: Uint8Array; decoded: unknown } {
  pos = 0
  const decoded = write(v, copy)
  return { bytes: new Uint8Array(buf.subarray(0, pos)), decoded }
}

// ---- decoding ----

let src: Uint8Array = new Uint8Array(0)
let view: Buffer = Buffer.alloc(0)
let at = 0

const TWO_32 = 2 ** 32

/** The argument of an item whose initial byte has additional info ai, in its shortest form only (cborg's strict mode). */
function arg(ai: number): number {
  if (ai < 24) return ai
  let n: number
  if (ai === 24) {
    n = src[at]!
    at += 1
    if (n < 24) throw unsupported
  } else if (ai === 25) {
    n = (src[at]! << 8) | src[at + 1]!
    at += 2
    if (n < 0x100) throw unsupported
  } else if (ai === 26) {
    n = view.readUInt32BE(at)
    at += 4
    if (n < 0x10000) throw unsupported
  } else if (ai === 27) {
    n = view.readUInt32BE(at) * TWO_32 + view.readUInt32BE(at + 4)
    at += 8
    if (n < TWO_32 || n > Number.MAX_SAFE_INTEGER) throw unsupported
  } else throw unsupported
  if (at > src.length) throw unsupported
  return n
}

const BOM = [0xef, 0xbb, 0xbf]
const SHORT_BYTES = 64

function textOf(len: number): string {
  const end = at + len
  if (end > src.length) throw unsupported
  let ascii = true
  for (let i = at; i < end; i++) {
    if (src[i]! > 0x7f) {
      ascii = false
      break
    }
  }
  let s: string
  if (ascii) s = view.toString('latin1', at, end)
  else {
    // cborg replaces invalid UTF-8 and, for long strings, drops a leading BOM: left to it.
    if (src[at] === BOM[0] && src[at + 1] === BOM[1] && src[at + 2] === BOM[2]) throw unsupported
    if (!isUtf8(src.subarray(at, end))) throw unsupported
    s = view.toString('utf8', at, end)
  }
  at = end
  return s
}

function half(bits: number): number {
  const exp = (bits >> 10) & 0x1f
  const mant = bits & 0x3ff
  const sign = bits & 0x8000 ? -1 : 1
  if (exp === 0) return sign * mant * 2 ** -24
  if (exp === 31) throw unsupported
  return sign * (1024 + mant) * 2 ** (exp - 25)
}

function item(): unknown {
  if (at >= src.length) throw unsupported
  const ib = src[at++]!
  const ai = ib & 31
  switch (ib >> 5) {
    case 0:
      return arg(ai)
    case 1: {
      const n = arg(ai)
      if (n >= Number.MAX_SAFE_INTEGER) throw unsupported
      return -1 - n
    }
    case 2: {
      const n = arg(ai)
      const end = at + n
      if (end > src.length) throw unsupported
      const out = new Uint8Array(n)
      // A loop for short ones: subarray() made an object just to copy from.
      if (n <= SHORT_BYTES) for (let i = 0; i < n; i++) out[i] = src[at + i]!
      else out.set(src.subarray(at, end))
      at = end
      return out
    }
    case 3:
      return textOf(arg(ai))
    case 4: {
      const n = arg(ai)
      // Every item takes at least a byte: a count beyond what is left is malformed.
      if (n > src.length - at) throw unsupported
      const out = new Array<unknown>(n)
      for (let i = 0; i < n; i++) out[i] = item()
      return out
    }
    case 5: {
      const n = arg(ai)
      if (2 * n > src.length - at) throw unsupported
      const out: Record<string, unknown> = {}
      for (let i = 0; i < n; i++) {
        if (at >= src.length || src[at]! >> 5 !== 3) throw unsupported
        const k = textOf(arg(src[at++]! & 31))
        if (k === '__proto__' || Object.hasOwn(out, k)) throw unsupported
        out[k] = item()
      }
      return out
    }
    case 7: {
      if (ai === 20) return false
      if (ai === 21) return true
      if (ai === 22) return null
      let f: number
      if (ai === 25) {
        if (at + 2 > src.length) throw unsupported
        f = half((src[at]! << 8) | src[at + 1]!)
        at += 2
      } else if (ai === 26) {
        if (at + 4 > src.length) throw unsupported
        f = view.readFloatBE(at)
        at += 4
      } else if (ai === 27) {
        if (at + 8 > src.length) throw unsupported
        f = view.readDoubleBE(at)
        at += 8
      } else throw unsupported
      if (!Number.isFinite(f)) throw unsupported
      return f
    }
    default:
      throw unsupported
  }
}

/** The one item that is all of `bytes`, as cborg's strict decode gives it; throws Unsupported where cborg must decide. */
export function fastDecode(bytes: Uint8Array): unknown {
  src = bytes
  view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  at = 0
  try {
    const v = item()
    if (at !== src.length) throw unsupported
    return v
  } finally {
    src = new Uint8Array(0)
    view = Buffer.alloc(0)
  }
}
