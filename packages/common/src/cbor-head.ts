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
