/**
 * Map keys for byte strings. latin1 keeps one character per byte: cheaper than hex on the
 * hot path and still a deterministic, collision-free key.
 */
export function keyOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1')
}
