import { cborHeadBytes, writeCborHead } from '@vigil/common'

/**
 * Canonical CBOR written directly, for the only values messages and records are made of:
 * arrays, byte strings, null and non-negative safe integers. The bytes are those of
 * @vigil/common's `encode` (cborg, deterministic: shortest heads, definite lengths; the tests
 * compare the two on random messages); for anything else it returns null and the caller uses
 * `encode`. Why: every replica encodes each accepted batch for its pre-prepare record (and the
 * primary again to send it), and cborg's general writer took 0.16-0.3 ms per batch of 500.
 */
type Tree = null | number | Uint8Array | readonly Tree[]

const MAJOR_UINT = 0
const MAJOR_BYTES = 2
const MAJOR_ARRAY = 4
const NULL = 0xf6

/** Encoded size, or -1 if the value holds anything but the four supported kinds. */
function sizeOf(v: unknown): number {
  if (v === null) return 1
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? cborHeadBytes(v) : -1
  if (v instanceof Uint8Array) return cborHeadBytes(v.length) + v.length
  if (!Array.isArray(v)) return -1
  let size = cborHeadBytes(v.length)
  for (const x of v as unknown[]) {
    const s = sizeOf(x)
    if (s < 0) return -1
    size += s
  }
  return size
}

/** Only called on a value sizeOf accepted. */
function write(out: Uint8Array, pos: number, v: Tree): number {
  if (v === null) {
    out[pos] = NULL
    return pos + 1
  }
  if (typeof v === 'number') return writeCborHead(out, pos, MAJOR_UINT, v)
  if (v instanceof Uint8Array) {
    pos = writeCborHead(out, pos, MAJOR_BYTES, v.length)
    out.set(v, pos)
    return pos + v.length
  }
  pos = writeCborHead(out, pos, MAJOR_ARRAY, v.length)
  for (const x of v) pos = write(out, pos, x)
  return pos
}

/** The canonical CBOR of `v`, or null if it holds anything but arrays, bytes, null and non-negative safe integers. */
export function encodeSimple(v: unknown): Uint8Array | null {
  const size = sizeOf(v)
  if (size < 0) return null
  const out = new Uint8Array(size)
  write(out, 0, v as Tree)
  return out
}
