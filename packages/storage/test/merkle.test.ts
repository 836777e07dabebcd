import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { DecodeError, encode, equalBytes, sha256 } from '@vigil/common'
import { LeafCursor, StateTree, type LeafUpdate } from '../src/merkle/tree.js'
import { EMPTY_SLOT, innerHash, leafHash, nibble, nodeHashesInto, stateKeyHash, stateValueHash } from '../src/merkle/hash.js'
import { decodeStateProof, emptyStateRoot, encodeStateProof, stateProofFromJson, stateProofToJson, verifyStateProof, type StateProof } from '../src/proof.js'

/** A state as a plain Map model: key -> [value, height, index]. */
type Model = Map<string, { value: Uint8Array; height: number; index: number }>

function update(instance: string, key: string, value: Uint8Array | null, height: number, index: number): LeafUpdate {
  const keyHash = stateKeyHash(instance, key)
  return { keyHash, valueHash: value === null ? null : stateValueHash(keyHash, value, height, index) }
}

function rebuild(model: Model): StateTree {
  const t = new StateTree()
  for (const [key, v] of model) {
    const u = update('inst', key, v.value, v.height, v.index)
    t.addLeaf(u.keyHash, u.valueHash!)
  }
  t.finishLoad()
  return t
}

/** Hash of a proof level's node, with `cur` as the child at nibble `n`. */
function foldLevel(level: { bitmap: number; siblings: Uint8Array[] }, n: number, cur: Uint8Array): Uint8Array {
  const children: Uint8Array[] = []
  let s = 0
  for (let i = 0; i < 16; i++) if (level.bitmap & (0x8000 >>> i)) children.push(i === n ? cur : level.siblings[s++]!)
  return innerHash(level.bitmap, children)
}

function proofFor(tree: StateTree, instance: string, key: string, model: Model): { value: Uint8Array | null; proof: StateProof } {
  const raw = tree.prove(stateKeyHash(instance, key))
  const v = model.get(key)
  if (raw.terminal.kind === 'member') return { value: v!.value, proof: { levels: raw.levels, terminal: { kind: 'member', height: v!.height, index: v!.index } } }
  return { value: null, proof: { levels: raw.levels, terminal: raw.terminal } }
}

describe('Merkle world state', () => {
  it('empty tree has the empty root and proves absence', () => {
    const t = new StateTree()
    t.finishLoad()
    assert.deepEqual(t.root(), emptyStateRoot())
    const p = proofFor(t, 'inst', 'a', new Map())
    assert.ok(verifyStateProof(t.root(), 'inst', 'a', null, p.proof))
    assert.ok(!verifyStateProof(t.root(), 'inst', 'a', Uint8Array.of(1), p.proof))
  })

  it('matches a Map model across random blocks of puts and deletes (property)', () => {
    const keyArb = fc.constantFrom(...Array.from({ length: 40 }, (_, i) => `k${i}`), 'é', '', 'a/b', 'x'.repeat(200))
    const writeArb = fc.record({ key: keyArb, value: fc.option(fc.uint8Array({ maxLength: 8 }), { freq: 4 }) })
    fc.assert(
      fc.property(fc.array(fc.array(fc.array(writeArb, { maxLength: 3 }), { maxLength: 12 }), { minLength: 1, maxLength: 6 }), (blocks) => {
        const live = new StateTree()
        live.finishLoad()
        const model: Model = new Map()
        blocks.forEach((txs, b) => {
          const height = b + 1
          const ups: LeafUpdate[] = []
          txs.forEach((writes, index) => {
            for (const w of writes) {
              ups.push(update('inst', w.key, w.value, height, index))
              if (w.value === null) model.delete(w.key)
              else model.set(w.key, { value: w.value, height, index })
            }
          })
          // A discarded preview must leave no trace.
          live.discard(live.prepare(ups.slice().reverse()))
          const p = live.prepare(ups)
          live.adopt(p)
          const fresh = rebuild(model)
          assert.deepEqual(live.root(), fresh.root())
          assert.equal(live.size, model.size)
          for (const key of ['k0', 'k1', 'k7', 'k39', 'é', '', 'a/b', 'missing', 'x'.repeat(200)]) {
            const { value, proof } = proofFor(live, 'inst', key, model)
            assert.deepEqual(value, model.get(key)?.value ?? null)
            assert.ok(verifyStateProof(live.root(), 'inst', key, value, proof), `proof for ${key}`)
            assert.ok(!verifyStateProof(live.root(), 'inst', key, value === null ? Uint8Array.of(9) : null, proof))
          }
        })
      }),
      { numRuns: 150 },
    )
  })

  it('rejects tampered proofs, wrong values, keys and roots', () => {
    const model: Model = new Map()
    const t = new StateTree()
    t.finishLoad()
    const ups: LeafUpdate[] = []
    for (let i = 0; i < 300; i++) {
      const value = encode({ i })
      model.set(`key${i}`, { value, height: 1, index: i })
      ups.push(update('inst', `key${i}`, value, 1, i))
    }
    t.adopt(t.prepare(ups))
    const root = t.root()
    const cases: Array<[string, Uint8Array | null]> = [['key17', model.get('key17')!.value], ['absent-1', null], ['absent-2', null], ['absent-3', null]]
    for (const [key, value] of cases) {
      const { proof } = proofFor(t, 'inst', key, model)
      assert.ok(verifyStateProof(root, 'inst', key, value, proof))
      // Binary and JSON round trips.
      const bytes = encodeStateProof(proof)
      assert.deepEqual(decodeStateProof(bytes), proof)
      assert.deepEqual(stateProofFromJson(JSON.parse(JSON.stringify(stateProofToJson(proof)))), proof)
      // Wrong value / key / instance / root.
      assert.ok(!verifyStateProof(root, 'inst', key, value === null ? encode(1) : encode({ i: 18 }), proof))
      assert.ok(!verifyStateProof(root, 'inst', key === 'key17' ? 'key18' : 'key18', value, proof))
      assert.ok(!verifyStateProof(root, 'other', key, value, proof))
      const badRoot = root.slice()
      badRoot[0]! ^= 1
      assert.ok(!verifyStateProof(badRoot, 'inst', key, value, proof))
      // Every single-bit flip of the encoded proof either fails to decode or fails to verify.
      for (let i = 0; i < bytes.length; i++) {
        const b = bytes.slice()
        b[i]! ^= 1 << i % 8
        let p: StateProof
        try {
          p = decodeStateProof(b)
        } catch (err) {
          assert.ok(err instanceof DecodeError)
          continue
        }
        assert.ok(!verifyStateProof(root, 'inst', key, value, p), `flip at byte ${i} of ${key}`)
      }
      // Field edits: drop a level, wrong version, swapped terminal.
      if (proof.levels.length > 0) assert.ok(!verifyStateProof(root, 'inst', key, value, { ...proof, levels: proof.levels.slice(1) }))
      if (proof.terminal.kind === 'member') {
        assert.ok(!verifyStateProof(root, 'inst', key, value, { ...proof, terminal: { kind: 'member', height: 2, index: 17 } }))
        assert.ok(!verifyStateProof(root, 'inst', key, null, { ...proof, terminal: { kind: 'empty' } }))
      } else {
        assert.ok(!verifyStateProof(root, 'inst', key, encode(1), { ...proof, terminal: { kind: 'member', height: 1, index: 0 } }))
      }
    }
    assert.throws(() => decodeStateProof(new Uint8Array(50_000)), DecodeError)
    assert.throws(() => stateProofFromJson({ levels: 'x', terminal: { kind: 'empty' } }), DecodeError)
  })

  it("refuses an inner node's two halves passed off as another key's leaf (a forged absence)", () => {
    // Find a key K whose depth-1 node N has a left half (slots 0-7) starting with K's first
    // nibble: then {root level, terminal "other" = N's halves} is shaped like a valid absence
    // proof for K, and hashes to N's hash if leaves were H(keyHash ‖ valueHash) untagged.
    for (let attempt = 0; attempt < 64; attempt++) {
      const t = new StateTree()
      t.finishLoad()
      const keys = Array.from({ length: 300 }, (_, i) => `s${attempt}-${i}`)
      t.adopt(t.prepare(keys.map((k, i) => update('inst', k, encode(i), 1, i))))
      for (const key of keys) {
        const kh = stateKeyHash('inst', key)
        const raw = t.prove(kh)
        if (raw.terminal.kind !== 'member' || raw.levels.length < 2) continue
        // Fold the proof up to depth 2, then lay out N's 16 child slots.
        let cur = leafHash(kh, raw.terminal.valueHash)
        for (let d = raw.levels.length - 1; d >= 2; d--) cur = foldLevel(raw.levels[d]!, nibble(kh, d), cur)
        const { bitmap, siblings } = raw.levels[1]!
        const slots = new Uint8Array(16 * 32)
        let s = 0
        for (let i = 0; i < 16; i++) slots.set(bitmap & (0x8000 >>> i) ? (i === nibble(kh, 1) ? cur : siblings[s++]!) : EMPTY_SLOT, i * 32)
        const left = new Uint8Array(32)
        const right = new Uint8Array(32)
        nodeHashesInto(slots.slice(0, 256), left)
        nodeHashesInto(slots.slice(256), right)
        if (nibble(left, 0) !== nibble(kh, 0)) continue
        const nodeHash = foldLevel(raw.levels[1]!, nibble(kh, 1), cur)
        assert.ok(equalBytes(sha256(Uint8Array.from([...left, ...right])), nodeHash), 'the halves hash to N without a leaf tag')
        const forged: StateProof = { levels: [raw.levels[0]!], terminal: { kind: 'other', keyHash: left, valueHash: right } }
        assert.ok(!verifyStateProof(t.root(), 'inst', key, null, forged), `absence of present key ${key} was proven`)
        return
      }
    }
    assert.fail('no key whose depth-1 node fits the forgery in 64 trees of 300 keys')
  })

  it('version is part of the leaf: the same value at another height is another root', () => {
    const a = new StateTree()
    a.finishLoad()
    a.adopt(a.prepare([update('i', 'k', Uint8Array.of(1), 1, 0)]))
    const b = new StateTree()
    b.finishLoad()
    b.adopt(b.prepare([update('i', 'k', Uint8Array.of(1), 2, 0)]))
    assert.notDeepEqual(a.root(), b.root())
  })
})

describe('pinned versions (background snapshots)', () => {
  it('export the pinned leaves in key order while later versions are adopted', () => {
    const t = new StateTree()
    t.finishLoad()
    const ups = (from: number, n: number, height: number): LeafUpdate[] => Array.from({ length: n }, (_, i) => update('i', `k${from + i}`, Uint8Array.of(height), height, i))
    t.adopt(t.prepare(ups(0, 300, 1)))
    const pinned = new Map<string, string>()
    for (const u of ups(0, 300, 1)) pinned.set(Buffer.from(u.keyHash).toString('hex'), Buffer.from(u.valueHash!).toString('hex'))
    const { version, release } = t.pin()
    const cursor = new LeafCursor(version)
    const out = Buffer.alloc(64 * 7)
    const got: string[] = []
    for (let round = 2; ; round++) {
      const n = t.exportLeaves(cursor, out)
      if (n === 0) break
      for (let i = 0; i < n; i++) got.push(out.subarray(i * 64, i * 64 + 64).toString('hex'))
      // Overwrite, delete and add keys between chunks: slots of the pinned version must not be reused.
      t.adopt(t.prepare([...ups(round * 3, 20, round), { keyHash: ups(round, 1, 1)[0]!.keyHash, valueHash: null }]))
    }
    release()
    assert.deepEqual(got, [...pinned].map(([k, v]) => k + v).sort())
    assert.equal(version.size, 300)
  })
})
