import { createHash, hash as nodeHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { utf8 } from './bytes.js'

/**
 * SHA-256. node:crypto's one-shot `crypto.hash` measured 948k/s on 200 B inputs here against
 * 409k/s for @noble/hashes (../shared/stack-notes.md), and hashing is on every hot path.
 */
export const HASH_BYTES = 32

const oneShot = typeof nodeHash === 'function'

export function sha256(data: Uint8Array): Uint8Array {
  if (oneShot) {
    const out = nodeHash('sha256', data, 'buffer') as unknown as Buffer
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
  }
  return new Uint8Array(createHash('sha256').update(data).digest())
}

export const ZERO_HASH = new Uint8Array(HASH_BYTES)

/**
 * SHA-256 of many 64-byte inputs (two child hashes) in one call: `input` holds n inputs back to
 * back, `output` receives n digests. @chainsafe/hashtree (prebuilt native, SHA-NI where the CPU
 * has it) measured 35-50 ns of CPU per hash here in batches and 221 ns for one, against 977 ns
 * for one `crypto.hash` call of 64 bytes: almost all of that is the call. Where the native module
 * does not load (another platform), the same digests come from crypto.hash, so peers agree.
 */
type HashInto = (input: Uint8Array, output: Uint8Array) => void

function loadHashtree(): HashInto | null {
  try {
    const mod = createRequire(import.meta.url)('@chainsafe/hashtree') as { hashInto: HashInto }
    return mod.hashInto
  } catch {
    return null
  }
}

const nativeHashInto = loadHashtree()

/** Whether hash64Into runs natively (the storage bench prints it). */
export const HASH64_NATIVE = nativeHashInto !== null

export function hash64Into(input: Uint8Array, output: Uint8Array): void {
  const n = input.byteLength / 64
  if (!Number.isInteger(n) || output.byteLength < n * HASH_BYTES) throw new RangeError(`hash64Into: ${input.byteLength} input bytes for ${output.byteLength} output bytes`)
  if (n === 0) return
  if (nativeHashInto !== null) return nativeHashInto(input, n * HASH_BYTES === output.byteLength ? output : output.subarray(0, n * HASH_BYTES))
  for (let i = 0; i < n; i++) output.set(sha256(input.subarray(i * 64, i * 64 + 64)), i * HASH_BYTES)
}

/**
 * Right half of a Merkle leaf node, H(item ‖ LEAF_TAG). An inner node H(left ‖ right) can pass
 * for a leaf only if its right child equals LEAF_TAG, that is with a preimage of SHA-256
 * (second-preimage safety without a tag byte, which would break the 64-byte shape).
 */
export const MERKLE_LEAF_TAG = sha256(utf8('vigil/merkle/leaf'))

/**
 * Binary Merkle root of a list of 32-byte items (transaction ids, result hashes): leaf nodes
 * H(item ‖ MERKLE_LEAF_TAG), inner nodes H(left ‖ right), one level per hash64Into call. An odd
 * node is promoted unchanged, so no item is ever duplicated (CVE-2012-2459 style). The root of
 * an empty list is ZERO_HASH.
 */
export function merkleRoot(items: readonly Uint8Array[]): Uint8Array {
  let n = items.length
  if (n === 0) return ZERO_HASH
  const input = new Uint8Array(n * 64)
  items.forEach((it, i) => {
    if (it.byteLength !== HASH_BYTES) throw new RangeError('merkleRoot: items must be 32-byte hashes')
    input.set(it, i * 64)
    input.set(MERKLE_LEAF_TAG, i * 64 + HASH_BYTES)
  })
  // Each level is its nodes back to back, so pairs are already 64-byte inputs.
  let level = new Uint8Array(n * HASH_BYTES)
  hash64Into(input, level)
  while (n > 1) {
    const pairs = n >> 1
    const next = new Uint8Array((n - pairs) * HASH_BYTES)
    hash64Into(level.subarray(0, pairs * 64), next.subarray(0, pairs * HASH_BYTES))
    if (n & 1) next.set(level.subarray((n - 1) * HASH_BYTES, n * HASH_BYTES), pairs * HASH_BYTES)
    level = next
    n -= pairs
  }
  return level
}
