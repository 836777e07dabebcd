import { HASH_BYTES, hash64Into, sha256, utf8 } from '@vigil/common'

/**
 * Hashes of the authenticated world state. Key, value and empty-tree hashes start with their own
 * tag byte, so none can be read as another kind (second-preimage safety); leaf and inner nodes
 * are kept apart by their 64-byte shape (below). Fixed-width, length-prefixed binary encodings
 * instead of CBOR: they are canonical too and several times cheaper, and these run once per
 * state write.
 */
const TAG_EMPTY = 0x02
const TAG_VALUE = 0x03
const TAG_KEY = 0x04

export const MAX_DEPTH = HASH_BYTES * 2 // nibbles in a key hash

const EMPTY_ROOT = sha256(Uint8Array.of(TAG_EMPTY))

/** State root of the empty state (the genesis block's stateRoot). */
export function emptyStateRoot(): Uint8Array {
  return EMPTY_ROOT.slice()
}

// Hash inputs are assembled in one reused buffer: these run for every state write, and
// allocating per call showed up as garbage-collector time in the commit profile.
let scratch = Buffer.alloc(4096)

function room(n: number): Buffer {
  if (scratch.length < n) scratch = Buffer.alloc(n)
  return scratch
}

/** Position of (instance, key) in the tree: sha256(0x04 | u16 len | instance | u16 len | key). */
export function stateKeyHash(instance: string, key: string): Uint8Array {
  const buf = room(5 + 3 * (instance.length + key.length))
  buf[0] = TAG_KEY
  const i = buf.write(instance, 3, 'utf8')
  buf.writeUInt16BE(i, 1)
  const k = buf.write(key, 5 + i, 'utf8')
  buf.writeUInt16BE(k, 3 + i)
  return sha256(buf.subarray(0, 5 + i + k))
}

/** Commits to the value and its version, so moving an old value to a newer height is detected. */
export function stateValueHash(keyHash: Uint8Array, value: Uint8Array, height: number, index: number): Uint8Array {
  const buf = room(45 + value.byteLength)
  buf[0] = TAG_VALUE
  buf.set(keyHash, 1)
  buf.writeUInt32BE(Math.floor(height / 2 ** 32), 33)
  buf.writeUInt32BE(height >>> 0, 37)
  buf.writeUInt32BE(index, 41)
  buf.set(value, 45)
  return sha256(buf.subarray(0, 45 + value.byteLength))
}

const tag = (name: string): Uint8Array => sha256(utf8(name))

/**
 * Leaf and inner nodes are hashed as SHA-256 of 64-byte inputs (two hashes), so a block's tree
 * update hashes a level of many nodes in one hash64Into call (see common's hash.ts):
 * - leaf: H(H(keyHash ‖ valueHash) ‖ LEAF_TAG). An inner node passes for a leaf only if its
 *   right half equals LEAF_TAG (a preimage of SHA-256), and a leaf for an inner node only if the
 *   siblings of a proof hash to LEAF_TAG. Without the tag, the two halves of any inner node
 *   would read as an "other" leaf in a non-membership proof.
 * - inner: a binary tree over its 16 child slots (8 + 4 + 2 + 1 hashes), an empty slot holding
 *   EMPTY_SLOT; which slots are occupied is in the hash without a bitmap, because no child hash
 *   equals EMPTY_SLOT (a preimage again).
 */
const LEAF_TAG = tag('vigil/state/leaf')
export const EMPTY_SLOT = tag('vigil/state/empty')
const FANOUT = 16
/** Hash input of one inner node: its 16 child slots. */
const NODE_SLOTS_BYTES = FANOUT * HASH_BYTES

/** Leaf hashes of n leaves: `kv` holds keyHash ‖ valueHash for each, `out` receives n hashes. */
export function leafHashesInto(kv: Uint8Array, out: Uint8Array): void {
  const n = kv.byteLength / 64
  const halves = new Uint8Array(n * HASH_BYTES)
  hash64Into(kv, halves)
  const tagged = new Uint8Array(n * 64)
  for (let i = 0; i < n; i++) {
    tagged.set(halves.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES), i * 64)
    tagged.set(LEAF_TAG, i * 64 + HASH_BYTES)
  }
  hash64Into(tagged, out)
}

export function leafHash(keyHash: Uint8Array, valueHash: Uint8Array): Uint8Array {
  const kv = new Uint8Array(64)
  kv.set(keyHash)
  kv.set(valueHash, HASH_BYTES)
  const out = new Uint8Array(HASH_BYTES)
  leafHashesInto(kv, out)
  return out
}

/**
 * Hashes of g inner nodes: `slots` holds each node's 16 child slots (NODE_SLOTS_BYTES each,
 * EMPTY_SLOT where empty); `out` receives g hashes. Four hash64Into calls whatever g.
 */
export function nodeHashesInto(slots: Uint8Array, out: Uint8Array): void {
  let level = slots
  while (level.byteLength > out.byteLength * 2) {
    const next = new Uint8Array(level.byteLength / 2)
    hash64Into(level, next)
    level = next
  }
  hash64Into(level, out)
}

/** One inner node's hash from its bitmap and its present children, in slot order (proof checks). */
export function innerHash(bitmap: number, children: readonly Uint8Array[]): Uint8Array {
  const slots = new Uint8Array(NODE_SLOTS_BYTES)
  let c = 0
  for (let i = 0; i < FANOUT; i++) slots.set(bitmap & (0x8000 >>> i) ? children[c++]! : EMPTY_SLOT, i * HASH_BYTES)
  if (c !== children.length) throw new RangeError(`innerHash: bitmap has ${c} children, given ${children.length}`)
  const out = new Uint8Array(HASH_BYTES)
  nodeHashesInto(slots, out)
  return out
}

export function nibble(keyHash: Uint8Array, depth: number): number {
  const b = keyHash[depth >> 1]!
  return depth & 1 ? b & 15 : b >> 4
}

export function popcount16(x: number): number {
  let n = 0
  for (let v = x; v !== 0; v &= v - 1) n++
  return n
}
