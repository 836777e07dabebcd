import { HASH_BYTES, equalBytes } from '@vigil/common'
import { EMPTY_SLOT, MAX_DEPTH, emptyStateRoot, leafHashesInto, nibble, nodeHashesInto } from './hash.js'

/**
 * The world-state tree in memory: a 16-ary Merkle trie over sha256(instance, key) with path
 * compression (a leaf sits at the shortest prefix no other key shares, as in Jellyfish/Diem),
 * so a tree of N keys is about log16(N) deep and a write rehashes ~log16(N) inner nodes, each
 * shared upper node once per block.
 *
 * Nodes live in typed-array slabs, not objects: a leaf is 96 bytes (key hash, value hash, leaf
 * hash) and an inner node 64 + 32 bytes (16 child refs, hash), with no per-object GC cost. With
 * random key hashes a 1M-key tree has ~360k inner nodes (most at depth 5 with 2-3 children), so
 * ~131 bytes per key: ~131 MB at 1M keys. The store persists the tree as a snapshot of its
 * leaves (../snapshot.ts) and otherwise rebuilds it from the state records at open. Opening a
 * store of 1M keys from its snapshot (load the sorted leaves, hash every node level by level)
 * took 1.7 s here (`bench:big`).
 *
 * Updates are functional (path copying): prepare() builds the new version next to the committed
 * one and returns a Pending; adopt() makes it current, discard() frees it. A preview therefore
 * never disturbs readers of the committed tree, and a refused block costs nothing to undo.
 *
 * Ref encoding: 0 = empty, r > 0 = inner slot r-1, r < 0 = leaf slot -r-1.
 */
const LEAF_BYTES = 3 * HASH_BYTES
const FANOUT = 16
/** Nodes hashed per hash64Into batch: bounds the scratch memory of a bulk load (1M keys). */
const HASH_CHUNK = 4096
const CACHED_DEPTH = 4
const W = HASH_BYTES >>> 2 // 32-bit words in a hash

export interface LeafUpdate {
  keyHash: Uint8Array
  /** null deletes the key. */
  valueHash: Uint8Array | null
}

export interface TreeVersion {
  readonly rootRef: number
  readonly size: number
  readonly root: Uint8Array
}

/** Where exportLeaves continues: a depth-first stack of refs still to visit. */
export class LeafCursor {
  readonly stack: number[]
  constructor(version: TreeVersion) {
    this.stack = version.rootRef === 0 ? [] : [version.rootRef]
  }
}

export interface Pending {
  readonly root: Uint8Array
  readonly base: number
  readonly rootRef: number
  readonly createdInner: number[]
  readonly createdLeaves: number[]
  readonly replacedInner: number[]
  readonly replacedLeaves: number[]
  readonly sizeDelta: number
}

/** The path to a key: for each inner node from the root, its bitmap and the other children's hashes. */
export interface RawProof {
  levels: Array<{ bitmap: number; siblings: Uint8Array[] }>
  terminal: { kind: 'member'; valueHash: Uint8Array } | { kind: 'other'; keyHash: Uint8Array; valueHash: Uint8Array } | { kind: 'empty' }
}

/** A detached plain copy: Buffer#slice would return a view into the slab, which later updates overwrite. */
const copy = (view: Uint8Array): Uint8Array => new Uint8Array(view)

function grow<T extends Buffer | Int32Array>(a: T, need: number, make: (n: number) => T, factor = 1.5): T {
  if (need <= a.length) return a
  // 1.5x keeps the transient copy small at millions of keys.
  const b = make(Math.max(need, Math.ceil(a.length * factor)))
  b.set(a)
  return b
}

/** Order of two 32-byte strings at the given offsets (byte loops beat Buffer calls at this size). */
function cmp32(a: Uint8Array, ao: number, b: Uint8Array, bo: number): number {
  for (let i = 0; i < HASH_BYTES; i++) {
    const d = a[ao + i]! - b[bo + i]!
    if (d !== 0) return d
  }
  return 0
}

function copy32(from: Uint8Array, fo: number, to: Uint8Array, to0: number): void {
  for (let i = 0; i < HASH_BYTES; i++) to[to0 + i] = from[fo + i]!
}

interface Ctx {
  createdInner: number[]
  createdLeaves: number[]
  replacedInner: number[]
  replacedLeaves: number[]
  sizeDelta: number
}

export class StateTree {
  #leaves = Buffer.alloc(LEAF_BYTES * 1024)
  #leafTop = 0
  #leafFree: number[] = []
  #kids = new Int32Array(FANOUT * 1024)
  #hashes = Buffer.alloc(HASH_BYTES * 1024)
  #innerTop = 0
  #innerFree: number[] = []
  #root = 0
  #size = 0
  #loading: number[] | null = null
  #pins = 0
  #heldInner: number[] = []
  #heldLeaves: number[] = []
  /** Child refs of the node being rebuilt at each depth: recursion never reuses a depth's array while it is live. */
  readonly #kidsAt = Array.from({ length: MAX_DEPTH + 1 }, () => new Int32Array(FANOUT))
  /**
   * Nodes made since the last #hashDirty, without their hashes yet: leaf slots, and inner slots
   * by depth. Structure first, hashes after, so each level of a block's update (or of a bulk
   * load) is hashed in a few batched calls (see hash.ts) instead of one call per node.
   */
  #dirtyLeaves: number[] = []
  readonly #dirtyInner: number[][] = Array.from({ length: MAX_DEPTH + 1 }, () => [])
  /** For each dirty inner node, the node it replaces (0: none), whose cached input it can start from. */
  readonly #dirtyOld: number[][] = Array.from({ length: MAX_DEPTH + 1 }, () => [])
  /**
   * Hash input (16 child slots) of each inner node above depth CACHED_DEPTH, by slot. Rehashing
   * such a node (the wide top levels, dirty in every block) then copies one contiguous input and
   * only its changed children, instead of 16 child hashes scattered over the slabs: those cache
   * misses cost ~1.6 ms of a 500-write update at 100k keys. At most 4,369 nodes (2.2 MB) whatever
   * the size of the state.
   */
  readonly #inputs: Array<Uint32Array | undefined> = []

  /** Number of keys. */
  get size(): number {
    return this.#size
  }

  root(): Uint8Array {
    return this.#root === 0 ? emptyStateRoot() : copy(this.#hashOf(this.#root))
  }

  /** Bulk load (store open): addLeaf for every key in any order, then finishLoad. */
  addLeaf(keyHash: Uint8Array, valueHash: Uint8Array): void {
    if (this.#root !== 0 || this.#size !== 0) throw new Error('StateTree.addLeaf: tree is not empty')
    ;(this.#loading ??= []).push(this.#allocLeaf(keyHash, valueHash, null))
  }

  finishLoad(): void {
    const refs = this.#loading ?? []
    this.#loading = null
    // A snapshot arrives in key order: then one pass checks it and no sort is needed.
    let sorted = true
    for (let i = 1; i < refs.length && sorted; i++) sorted = this.#cmpLeaf(refs[i - 1]!, refs[i]!) < 0
    if (!sorted) refs.sort((a, b) => this.#cmpLeaf(a, b))
    for (let i = 1; i < refs.length; i++) {
      if (this.#cmpLeaf(refs[i - 1]!, refs[i]!) === 0) throw new Error('StateTree.finishLoad: duplicate key hash')
    }
    this.#root = this.#build(0, refs, 0, refs.length, null)
    this.#hashDirty()
    this.#size = refs.length
  }

  /**
   * Computes the tree after `updates` (any order; the last update of a key wins) without changing
   * the current one, on top of the current version or of a pending one (several blocks in one
   * commit): adopt them in order, or discard them all.
   */
  prepare(updates: readonly LeafUpdate[], on?: Pending): Pending {
    // A stable sort keeps a key's updates in call order, so the last of each run of equal keys wins.
    // cmp32, not Buffer.compare: ~4,500 compares per 500 updates, and each Buffer call cost ~1 us.
    const byKey = (a: LeafUpdate, b: LeafUpdate): number => cmp32(a.keyHash, 0, b.keyHash, 0)
    const sorted = updates.slice().sort(byKey)
    const ups = sorted.filter((u, i) => i + 1 === sorted.length || byKey(u, sorted[i + 1]!) !== 0)
    const ctx: Ctx = { createdInner: [], createdLeaves: [], replacedInner: [], replacedLeaves: [], sizeDelta: 0 }
    const base = on === undefined ? this.#root : on.rootRef
    const rootRef = this.#update(base, 0, ups, 0, ups.length, ctx)
    this.#hashDirty()
    return { ...ctx, base, rootRef, root: rootRef === 0 ? emptyStateRoot() : copy(this.#hashOf(rootRef)) }
  }

  adopt(p: Pending): void {
    if (p.base !== this.#root) throw new Error('StateTree.adopt: pending update was prepared on another version')
    this.#root = p.rootRef
    this.#size += p.sizeDelta
    // While a pinned version is being read, its replaced nodes must not be reused.
    const inner = this.#pins > 0 ? this.#heldInner : this.#innerFree
    const leaves = this.#pins > 0 ? this.#heldLeaves : this.#leafFree
    for (const r of p.replacedInner) inner.push(r)
    for (const r of p.replacedLeaves) leaves.push(r)
  }

  /**
   * Keeps the current version readable while later versions are adopted (functional updates
   * never change a node in place; only slot reuse would), for a snapshot written in the
   * background. Returns the pinned version and a release function.
   */
  pin(): { version: TreeVersion; release: () => void } {
    this.#pins++
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      if (--this.#pins > 0) return
      for (const r of this.#heldInner.splice(0)) this.#innerFree.push(r)
      for (const r of this.#heldLeaves.splice(0)) this.#leafFree.push(r)
    }
    return { version: { rootRef: this.#root, size: this.#size, root: this.root() }, release }
  }

  /**
   * Copies up to `out.length / 64` leaves of a pinned version, as keyHash | valueHash in key
   * order, starting after the leaves a previous call returned (`cursor`). Returns how many.
   */
  exportLeaves(cursor: LeafCursor, out: Buffer): number {
    const max = Math.floor(out.length / (2 * HASH_BYTES))
    let n = 0
    while (n < max && cursor.stack.length > 0) {
      const ref = cursor.stack.pop()!
      if (ref < 0) {
        const o = (-ref - 1) * LEAF_BYTES
        this.#leaves.copy(out, n++ * 2 * HASH_BYTES, o, o + 2 * HASH_BYTES)
        continue
      }
      const base = (ref - 1) * FANOUT
      for (let i = FANOUT - 1; i >= 0; i--) {
        const c = this.#kids[base + i]!
        if (c !== 0) cursor.stack.push(c)
      }
    }
    return n
  }

  /** Room for `n` more leaves without regrowing (bulk load of a known size). */
  reserveLeaves(n: number): void {
    this.#leaves = grow(this.#leaves, (this.#leafTop + n) * LEAF_BYTES, (k) => Buffer.alloc(k), 1)
  }

  discard(p: Pending): void {
    this.#innerFree.push(...p.createdInner)
    this.#leafFree.push(...p.createdLeaves)
  }

  /** Value hash stored for a key, or null if absent. */
  lookup(keyHash: Uint8Array): Uint8Array | null {
    const t = this.prove(keyHash, false).terminal
    return t.kind === 'member' ? t.valueHash : null
  }

  prove(keyHash: Uint8Array, withSiblings = true): RawProof {
    const levels: RawProof['levels'] = []
    let ref = this.#root
    for (let depth = 0; ref > 0; depth++) {
      const base = (ref - 1) * FANOUT
      const n = nibble(keyHash, depth)
      if (withSiblings) {
        let bitmap = 0
        const siblings: Uint8Array[] = []
        for (let i = 0; i < FANOUT; i++) {
          const c = this.#kids[base + i]!
          if (c === 0) continue
          bitmap |= 0x8000 >>> i
          if (i !== n) siblings.push(copy(this.#hashOf(c)))
        }
        levels.push({ bitmap, siblings })
      }
      ref = this.#kids[base + n]!
    }
    if (ref === 0) return { levels, terminal: { kind: 'empty' } }
    const o = (-ref - 1) * LEAF_BYTES
    const kh = this.#leaves.subarray(o, o + HASH_BYTES)
    const valueHash = copy(this.#leaves.subarray(o + HASH_BYTES, o + 2 * HASH_BYTES))
    return equalBytes(kh, keyHash) ? { levels, terminal: { kind: 'member', valueHash } } : { levels, terminal: { kind: 'other', keyHash: copy(kh), valueHash } }
  }

  #hashOf(ref: number): Uint8Array {
    if (ref > 0) {
      const o = (ref - 1) * HASH_BYTES
      return this.#hashes.subarray(o, o + HASH_BYTES)
    }
    const o = (-ref - 1) * LEAF_BYTES + 2 * HASH_BYTES
    return this.#leaves.subarray(o, o + HASH_BYTES)
  }

  /** Nibble `depth` of a leaf's key hash, read in place. */
  #leafNibble(ref: number, depth: number): number {
    const b = this.#leaves[(-ref - 1) * LEAF_BYTES + (depth >> 1)]!
    return depth & 1 ? b & 15 : b >> 4
  }

  /**
   * Key order of two leaves, compared in place with a byte loop: Buffer#compare with offsets
   * measured ~1 us a call, which made sorting 150k leaves at open take 2.4-3.5 s.
   */
  #cmpLeaf(a: number, b: number): number {
    return cmp32(this.#leaves, (-a - 1) * LEAF_BYTES, this.#leaves, (-b - 1) * LEAF_BYTES)
  }

  #allocLeaf(keyHash: Uint8Array, valueHash: Uint8Array, ctx: Ctx | null): number {
    let slot = this.#leafFree.pop()
    if (slot === undefined) {
      slot = this.#leafTop++
      this.#leaves = grow(this.#leaves, this.#leafTop * LEAF_BYTES, (n) => Buffer.alloc(n))
    }
    const o = slot * LEAF_BYTES
    this.#leaves.set(keyHash, o)
    this.#leaves.set(valueHash, o + HASH_BYTES)
    this.#dirtyLeaves.push(slot)
    ctx?.createdLeaves.push(slot)
    return -slot - 1
  }

  /** An inner node at `depth` from 16 child refs, collapsing to nothing or to a lone leaf (canonical shape); hashed later by #hashDirty. */
  #makeInner(kids: Int32Array, depth: number, ctx: Ctx | null, old = 0): number {
    let count = 0
    let only = 0
    for (let i = 0; i < FANOUT; i++) {
      const c = kids[i]!
      if (c === 0) continue
      count++
      only = c
    }
    if (count === 0) return 0
    if (count === 1 && only < 0) return only
    let slot = this.#innerFree.pop()
    if (slot === undefined) {
      slot = this.#innerTop++
      this.#kids = grow(this.#kids, this.#innerTop * FANOUT, (n) => new Int32Array(n))
      this.#hashes = grow(this.#hashes, this.#innerTop * HASH_BYTES, (n) => Buffer.alloc(n))
    }
    this.#kids.set(kids, slot * FANOUT)
    this.#dirtyInner[depth]!.push(slot)
    this.#dirtyOld[depth]!.push(old)
    ctx?.createdInner.push(slot)
    return slot + 1
  }

  /** Hashes the nodes made since the last call: leaves, then inner nodes from the deepest up (a node's children are one level below it). */
  #hashDirty(): void {
    const leaves = this.#dirtyLeaves
    this.#dirtyLeaves = []
    for (let at = 0; at < leaves.length; at += HASH_CHUNK) {
      const chunk = leaves.slice(at, at + HASH_CHUNK)
      const kv = new Uint8Array(chunk.length * 64)
      chunk.forEach((slot, i) => this.#leaves.copy(kv, i * 64, slot * LEAF_BYTES, slot * LEAF_BYTES + 64))
      const out = new Uint8Array(chunk.length * HASH_BYTES)
      leafHashesInto(kv, out)
      chunk.forEach((slot, i) => copy32(out, i * HASH_BYTES, this.#leaves, slot * LEAF_BYTES + 2 * HASH_BYTES))
    }
    // Child hashes are gathered as 32-bit words: a node's 16 slots are 128 word copies instead of
    // 512 byte copies (the slabs come from Buffer.alloc, never pooled, so they start aligned).
    const words = (b: Buffer): Uint32Array => new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2)
    const hashes = words(this.#hashes)
    const leafWords = words(this.#leaves)
    const empty = new Uint32Array(EMPTY_SLOT.slice().buffer)
    const kidsOf = this.#kids
    for (let depth = MAX_DEPTH; depth >= 0; depth--) {
      const nodes = this.#dirtyInner[depth]!
      if (nodes.length === 0) continue
      const olds = this.#dirtyOld[depth]!
      this.#dirtyInner[depth] = []
      this.#dirtyOld[depth] = []
      for (let at = 0; at < nodes.length; at += HASH_CHUNK) {
        const count = Math.min(HASH_CHUNK, nodes.length - at)
        const slots = new Uint32Array(count * FANOUT * W)
        for (let n = 0; n < count; n++) {
          const base = nodes[at + n]! * FANOUT
          const old = olds[at + n]!
          const cached = old > 0 ? this.#inputs[old - 1] : undefined
          if (cached !== undefined) slots.set(cached, n * FANOUT * W)
          for (let i = 0; i < FANOUT; i++) {
            const c = kidsOf[base + i]!
            if (cached !== undefined && c === kidsOf[(old - 1) * FANOUT + i]) continue
            const from = c === 0 ? empty : c > 0 ? hashes : leafWords
            const fo = c === 0 ? 0 : c > 0 ? (c - 1) * W : ((-c - 1) * LEAF_BYTES + 2 * HASH_BYTES) >>> 2
            const o = (n * FANOUT + i) * W
            for (let k = 0; k < W; k++) slots[o + k] = from[fo + k]!
          }
        }
        const out = new Uint32Array(count * W)
        nodeHashesInto(new Uint8Array(slots.buffer), new Uint8Array(out.buffer))
        for (let n = 0; n < count; n++) {
          const slot = nodes[at + n]!
          for (let k = 0; k < W; k++) hashes[slot * W + k] = out[n * W + k]!
          this.#inputs[slot] = depth < CACHED_DEPTH ? slots.slice(n * FANOUT * W, (n + 1) * FANOUT * W) : undefined
        }
      }
    }
  }

  /** Canonical subtree of leaf refs sorted by key hash, all sharing the first `depth` nibbles. */
  #build(depth: number, refs: readonly number[], lo: number, hi: number, ctx: Ctx | null): number {
    if (hi - lo <= 1) return hi > lo ? refs[lo]! : 0
    const kids = this.#kidsAt[depth]!.fill(0)
    let start = lo
    while (start < hi) {
      const n = this.#leafNibble(refs[start]!, depth)
      let end = start + 1
      while (end < hi && this.#leafNibble(refs[end]!, depth) === n) end++
      kids[n] = this.#build(depth + 1, refs, start, end, ctx)
      start = end
    }
    return this.#makeInner(kids, depth, ctx)
  }

  /** New version of subtree `ref` after ups[lo, hi) (sorted, unique, all under this subtree's prefix). */
  #update(ref: number, depth: number, ups: readonly LeafUpdate[], lo: number, hi: number, ctx: Ctx): number {
    if (lo === hi) return ref
    if (ref > 0) {
      const base = (ref - 1) * FANOUT
      const kids = this.#kidsAt[depth]!
      kids.set(this.#kids.subarray(base, base + FANOUT))
      let changed = false
      let start = lo
      while (start < hi) {
        const n = nibble(ups[start]!.keyHash, depth)
        let end = start + 1
        while (end < hi && nibble(ups[end]!.keyHash, depth) === n) end++
        const c = this.#update(kids[n]!, depth + 1, ups, start, end, ctx)
        if (c !== kids[n]) {
          kids[n] = c
          changed = true
        }
        start = end
      }
      if (!changed) return ref
      ctx.replacedInner.push(ref - 1)
      return this.#makeInner(kids, depth, ctx, ref)
    }
    // Empty slot or a single leaf: merge it with the updates and build the canonical subtree.
    const refs: number[] = []
    let existing = ref
    for (let i = lo; i < hi; i++) {
      const u = ups[i]!
      if (existing !== 0) {
        const c = cmp32(this.#leaves, (-existing - 1) * LEAF_BYTES, u.keyHash, 0)
        if (c === 0) {
          // Overwritten or deleted.
          ctx.replacedLeaves.push(-existing - 1)
          ctx.sizeDelta--
          existing = 0
        } else if (c < 0) {
          refs.push(existing)
          existing = 0
        }
      }
      if (u.valueHash !== null) {
        refs.push(this.#allocLeaf(u.keyHash, u.valueHash, ctx))
        ctx.sizeDelta++
      }
    }
    if (existing !== 0) refs.push(existing)
    if (refs.length === 1 && refs[0] === ref) return ref
    return this.#build(depth, refs, 0, refs.length, ctx)
  }
}
