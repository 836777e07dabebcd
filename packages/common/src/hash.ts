import { createHash, hash as nodeHash } from 'node:crypto'

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

// Domain tags keep a leaf from ever hashing like an inner node (second-preimage safety).
const LEAF = 0
const NODE = 1
// One scratch buffer per shape: merkleRoot runs on every block (tx and results roots), and
// building a fresh concatenation per node cost three copies each.
const leafScratch = new Uint8Array(1 + HASH_BYTES)
const nodeScratch = new Uint8Array(1 + 2 * HASH_BYTES)

function leafHash(item: Uint8Array): Uint8Array {
  leafScratch[0] = LEAF
  leafScratch.set(item, 1)
  return sha256(leafScratch)
}

function innerHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeScratch[0] = NODE
  nodeScratch.set(left, 1)
  nodeScratch.set(right, 1 + HASH_BYTES)
  return sha256(nodeScratch)
}

/**
 * Binary Merkle root of a list of 32-byte items (transaction ids, result hashes).
 * An odd node is promoted unchanged, so no item is ever duplicated (CVE-2012-2459 style).
 * The root of an empty list is ZERO_HASH.
 */
export function merkleRoot(items: readonly Uint8Array[]): Uint8Array {
  if (items.length === 0) return ZERO_HASH
  for (const it of items) if (it.byteLength !== HASH_BYTES) throw new RangeError('merkleRoot: items must be 32-byte hashes')
  let level = items.map(leafHash)
  while (level.length > 1) {
    const next: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 2) {
      const right = level[i + 1]
      next.push(right === undefined ? level[i]! : innerHash(level[i]!, right))
    }
    level = next
  }
  return level[0]!
}
