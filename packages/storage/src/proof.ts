import { DecodeError, HASH_BYTES, decodeCanonical, encode, equalBytes, expectArray, expectBytes, expectUint, fromHex, toHex } from '@vigil/common'
import { MAX_DEPTH, emptyStateRoot, innerHash, leafHash, nibble, popcount16, stateKeyHash, stateValueHash } from './merkle/hash.js'

/**
 * State proofs, checkable with nothing but a state root (no LevelDB, no store): this module is
 * also exported as "@vigil/storage/proof" for clients and light verifiers.
 *
 * A proof lists, for each inner node on the path from the root to the key's position, the
 * node's 16-bit child bitmap and its other children's hashes; then what sits at the position:
 * - member: the key's own leaf; the proof carries its version, the value is the verifier's;
 * - other: another key's leaf sharing the path (proves absence);
 * - empty: an empty slot (proves absence; with no levels, the empty tree).
 */
export { emptyStateRoot, stateKeyHash, stateValueHash } from './merkle/hash.js'

export interface ProofLevel {
  bitmap: number
  siblings: Uint8Array[]
}

export type ProofTerminal =
  | { kind: 'member'; height: number; index: number }
  | { kind: 'other'; keyHash: Uint8Array; valueHash: Uint8Array }
  | { kind: 'empty' }

export interface StateProof {
  levels: ProofLevel[]
  terminal: ProofTerminal
}

export const MAX_PROOF_BYTES = 40 * 1024

function leafOf(keyHash: Uint8Array, value: Uint8Array | null, proof: StateProof): Uint8Array | null | false {
  const t = proof.terminal
  const depth = proof.levels.length
  switch (t.kind) {
    case 'member':
      if (value === null) return false
      return leafHash(keyHash, stateValueHash(keyHash, value, t.height, t.index))
    case 'other':
      if (value !== null || t.keyHash.byteLength !== HASH_BYTES || t.valueHash.byteLength !== HASH_BYTES) return false
      if (equalBytes(t.keyHash, keyHash)) return false
      // The other leaf must sit on our path, i.e. share every nibble above it.
      for (let d = 0; d < depth; d++) if (nibble(t.keyHash, d) !== nibble(keyHash, d)) return false
      return leafHash(t.keyHash, t.valueHash)
    case 'empty':
      return value === null ? null : false
    default:
      return false
  }
}

/** True iff `proof` shows that (instance, key) has `value` (null: is absent) in the state with root `root`. Never throws. */
export function verifyStateProof(root: Uint8Array, instance: string, key: string, value: Uint8Array | null, proof: StateProof): boolean {
  try {
    const levels = proof.levels
    if (!Array.isArray(levels) || levels.length > MAX_DEPTH) return false
    const keyHash = stateKeyHash(instance, key)
    let cur = leafOf(keyHash, value, proof)
    if (cur === false) return false
    for (let d = levels.length - 1; d >= 0; d--) {
      const { bitmap, siblings } = levels[d]!
      if (!Number.isInteger(bitmap) || bitmap < 0 || bitmap > 0xffff) return false
      const bit = 0x8000 >>> nibble(keyHash, d)
      const ours = (bitmap & bit) !== 0
      if (ours !== (cur !== null)) return false
      if (siblings.length !== popcount16(bitmap) - (ours ? 1 : 0)) return false
      const children: Uint8Array[] = []
      let s = 0
      for (let i = 0; i < 16; i++) {
        const b = 0x8000 >>> i
        if ((bitmap & b) === 0) continue
        const h = b === bit ? cur! : siblings[s++]!
        if (h.byteLength !== HASH_BYTES) return false
        children.push(h)
      }
      cur = innerHash(bitmap, children)
    }
    return equalBytes(cur ?? emptyStateRoot(), root)
  } catch {
    return false
  }
}

export function encodeStateProof(p: StateProof): Uint8Array {
  const t = p.terminal
  const term = t.kind === 'member' ? [0, t.height, t.index] : t.kind === 'other' ? [1, t.keyHash, t.valueHash] : [2]
  return encode([p.levels.map((l) => [l.bitmap, l.siblings]), term])
}

export function decodeStateProof(bytes: Uint8Array): StateProof {
  const f = expectArray(decodeCanonical(bytes, MAX_PROOF_BYTES, 'state proof'), 'state proof', 2)
  const rawLevels = expectArray(f[0], 'state proof.levels')
  if (rawLevels.length > MAX_DEPTH) throw new DecodeError(`state proof.levels: more than ${MAX_DEPTH}`)
  const levels = rawLevels.map((l, i) => {
    const lf = expectArray(l, `state proof.levels[${i}]`, 2)
    const siblings = expectArray(lf[1], `state proof.levels[${i}].siblings`)
    if (siblings.length > 16) throw new DecodeError(`state proof.levels[${i}].siblings: more than 16`)
    return {
      bitmap: expectUint(lf[0], `state proof.levels[${i}].bitmap`, 0xffff),
      siblings: siblings.map((s, j) => expectBytes(s, `state proof.levels[${i}].siblings[${j}]`, HASH_BYTES)),
    }
  })
  const tf = expectArray(f[1], 'state proof.terminal')
  let terminal: ProofTerminal
  if (tf[0] === 0 && tf.length === 3) terminal = { kind: 'member', height: expectUint(tf[1], 'state proof.terminal.height'), index: expectUint(tf[2], 'state proof.terminal.index', 0xffffffff) }
  else if (tf[0] === 1 && tf.length === 3) terminal = { kind: 'other', keyHash: expectBytes(tf[1], 'state proof.terminal.keyHash', HASH_BYTES), valueHash: expectBytes(tf[2], 'state proof.terminal.valueHash', HASH_BYTES) }
  else if (tf[0] === 2 && tf.length === 1) terminal = { kind: 'empty' }
  else throw new DecodeError('state proof.terminal: unknown form')
  return { levels, terminal }
}

/** JSON form for HTTP: byte strings as lower-case hex. */
export interface StateProofJson {
  levels: Array<{ bitmap: number; siblings: string[] }>
  terminal: { kind: 'member'; height: number; index: number } | { kind: 'other'; keyHash: string; valueHash: string } | { kind: 'empty' }
}

export function stateProofToJson(p: StateProof): StateProofJson {
  const t = p.terminal
  return {
    levels: p.levels.map((l) => ({ bitmap: l.bitmap, siblings: l.siblings.map(toHex) })),
    terminal: t.kind === 'other' ? { kind: 'other', keyHash: toHex(t.keyHash), valueHash: toHex(t.valueHash) } : { ...t },
  }
}

/** Parses the JSON form; throws a DecodeError naming the field. Goes through the binary decoder so both forms accept exactly the same proofs. */
export function stateProofFromJson(json: unknown): StateProof {
  try {
    const j = json as StateProofJson
    const hex = (s: string): Uint8Array => fromHex(s)
    const t = j.terminal
    const term = t.kind === 'member' ? [0, t.height, t.index] : t.kind === 'other' ? [1, hex(t.keyHash), hex(t.valueHash)] : t.kind === 'empty' ? [2] : [3]
    return decodeStateProof(encode([j.levels.map((l) => [l.bitmap, l.siblings.map(hex)]), term]))
  } catch (err) {
    if (err instanceof DecodeError) throw err
    throw new DecodeError(`state proof JSON: ${(err as Error).message}`)
  }
}
