import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { DecodeError, encode } from '@vigil/common'
import { LeafCursor, StateTree, type LeafUpdate } from '../src/merkle/tree.js'
import { stateKeyHash, stateValueHash } from '../src/merkle/hash.js'
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
