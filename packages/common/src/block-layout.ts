/**
 * Where the parts of an encoded block sit, found by walking CBOR item headers without decoding
 * anything. encodeBlock is canonical CBOR `[header, [txBytes...], [result...]]`, and an array's
 * encoding is its items' encodings back to back, so the slice of result i is exactly
 * encodeResult(result i) and the header slice is exactly encodeHeader(header). That lets a
 * block be encoded once and its results hashed from that encoding (sealBlock, the storage
 * engine), and lets a read decode one entry of a 500-transaction block instead of all of it.
 */
export interface BlockLayout {
  /** [start, end) of the header item. */
  header: [number, number]
  /** Start and end of each transaction's byte-string item. */
  txStart: Uint32Array
  txEnd: Uint32Array
  /** Start and end of each result item. */
  resultStart: Uint32Array
  resultEnd: Uint32Array
}

class LayoutError extends Error {}

/**
 * The last item header read by head(): set there rather than returned in an object, because
 * head() runs for every CBOR item of every block (and allocated ~1 MB per block that way).
 */
let hMajor = 0
let hArg = 0

/** Reads the item header at pos into hMajor and hArg; returns where the item's content starts. */
function head(b: Uint8Array, pos: number): number {
  if (pos >= b.length) throw new LayoutError('truncated')
  const ib = b[pos]!
  hMajor = ib >> 5
  const ai = ib & 31
  if (ai < 24) {
    hArg = ai
    return pos + 1
  }
  const n = ai === 24 ? 1 : ai === 25 ? 2 : ai === 26 ? 4 : ai === 27 ? 8 : 0
  if (n === 0 || pos + 1 + n > b.length) throw new LayoutError('bad item header')
  let arg = 0
  for (let i = 1; i <= n; i++) arg = arg * 256 + b[pos + i]!
  hArg = arg
  return pos + 1 + n
}

/** End of the (definite-length) item starting at pos. */
function itemEnd(b: Uint8Array, pos: number): number {
  let pending = 1
  while (pending > 0) {
    pos = head(b, pos)
    pending--
    if (hMajor === 2 || hMajor === 3) pos += hArg
    else if (hMajor === 4) pending += hArg
    else if (hMajor === 5) pending += 2 * hArg
    else if (hMajor === 6) pending += 1
    // Majors 0, 1 and 7 (integers, simple values, floats) are all head: head() consumed them.
    if (pos > b.length) throw new LayoutError('truncated')
  }
  return pos
}

function arrayHead(b: Uint8Array, pos: number, what: string): { count: number; next: number } {
  const next = head(b, pos)
  if (hMajor !== 4) throw new LayoutError(`${what} is not an array`)
  return { count: hArg, next }
}

/** The content of the byte-string item at [start, end) of b (e.g. transaction i of a BlockLayout: txStart[i], txEnd[i]). */
export function byteStringContent(b: Uint8Array, start: number, end: number): Uint8Array {
  return b.subarray(head(b, start), end)
}

/** [start, end) of each item of the array at pos, and where the array ends. */
function arrayItems(b: Uint8Array, pos: number, what: string): { start: Uint32Array; end: Uint32Array; next: number } {
  const arr = arrayHead(b, pos, what)
  const start = new Uint32Array(arr.count)
  const end = new Uint32Array(arr.count)
  pos = arr.next
  for (let i = 0; i < arr.count; i++) {
    start[i] = pos
    pos = end[i] = itemEnd(b, pos)
  }
  return { start, end, next: pos }
}

function layoutError(err: unknown, what: string): Error {
  return err instanceof LayoutError ? new Error(`${what}: ${err.message}`) : (err as Error)
}

/** Throws a plain Error on bytes that are not shaped like an encoded block. */
export function blockLayout(b: Uint8Array): BlockLayout {
  try {
    const top = arrayHead(b, 0, 'block')
    if (top.count !== 3) throw new LayoutError('block is not a 3-item array')
    const headerEnd = itemEnd(b, top.next)
    const txs = arrayHead(b, headerEnd, 'block.txs')
    const txStart = new Uint32Array(txs.count)
    const txEnd = new Uint32Array(txs.count)
    let pos = txs.next
    for (let i = 0; i < txs.count; i++) {
      const next = head(b, pos)
      if (hMajor !== 2) throw new LayoutError(`block.txs[${i}] is not bytes`)
      txStart[i] = pos
      pos = txEnd[i] = next + hArg
    }
    const results = arrayItems(b, pos, 'block.results')
    if (results.next !== b.length) throw new LayoutError('trailing bytes')
    return { header: [top.next, headerEnd], txStart, txEnd, resultStart: results.start, resultEnd: results.end }
  } catch (err) {
    throw layoutError(err, 'block layout')
  }
}

/** [start, end) of each item of an encoded CBOR array (throws a plain Error on anything else). */
export function cborArrayItems(b: Uint8Array): { start: Uint32Array; end: Uint32Array } {
  try {
    const { start, end, next } = arrayItems(b, 0, 'value')
    if (next !== b.length) throw new LayoutError('trailing bytes')
    return { start, end }
  } catch (err) {
    throw layoutError(err, 'array layout')
  }
}
