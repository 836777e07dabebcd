import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decode as cborgDecode, encode as cborgEncode } from 'cborg'
import fc from 'fast-check'
import {
  DEFAULT_CONSENSUS, DecodeError, Signer, concatBytes, decodeBlockToRebuild, decodeBlockTxs, decodeStrict, encodeWithCopy, ValidationError, batchDigest, commitSignBytes, decodeBlock, decodeCanonical, decodeCertificate, decodeHeader, decodeTx,
  encode, encodeBlock, encodeCertificate, encodeHeader, generateKeyPair, hash64Into, headerHash, MERKLE_LEAF_TAG, merkleRoot, parseGenesis, genesisJson, resultsRootOf, sealBlock, sha256,
  MAX_BATCH_MAX_BYTES, MAX_CONSENSUS_FRAME_BYTES, equalBytes, faultTolerance, genesisHash, maxConsensusMessageBytes, maxNewViewBytes, maxViewChangeBytes, keyOf, networkGuarantee, quorumSize, signTx, toHex, txRootOf, txSignBytes, verifyCommitCertificate, verifyTx, ZERO_HASH, type Block, type CommitCertificate, type SignDomain,
} from '../src/index.js'
import { fastDecode, fastEncode } from '../src/cbor-fast.js'

const client = new Signer(generateKeyPair())
const sampleTx = (nonce: string) =>
  signTx({ chainId: 'test', signer: client.publicKey, instance: 'kv1', method: 'put', args: { key: 'a', value: { n: 1.5, s: 'x' } }, nonce }, client)

/** JSON as transactions carry it ("__proto__" keys are refused: see expectJson). */
const jsonKey = fc.string().filter((k) => k !== '__proto__')
const { jsonValue } = fc.letrec((tie) => ({
  jsonValue: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null), fc.boolean(), fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.array(tie('jsonValue')), fc.dictionary(jsonKey, tie('jsonValue'), { noNullPrototype: true }),
  ),
}))

/** What cbor.ts asks of cborg when it decodes. */
const CBORG_STRICT = { strict: true, rejectDuplicateMapKeys: true, allowUndefined: false, allowIndefinite: false, allowInfinity: false, allowNaN: false, allowBigInt: false, useMaps: false } as const
/** Everything the ledger encodes (bytes, JSON) and some it does not (undefined, lone surrogates, huge and odd numbers): the fast codec must match cborg or leave it to cborg. */
const { anyValue } = fc.letrec((tie) => ({
  anyValue: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null), fc.boolean(), fc.constant(undefined), fc.uint8Array({ maxLength: 300 }),
    fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('\uD800', '\uFEFFx', 'é'.repeat(40), '\uFEFF' + 'a'.repeat(70)),
    fc.integer(), fc.maxSafeInteger(), fc.double(), fc.constantFrom(-0, 2 ** 53, -(2 ** 53), 1.5, 65504, 1e-7, 5.960464477539063e-8),
    fc.array(tie('anyValue'), { maxLength: 30 }), fc.dictionary(jsonKey, tie('anyValue'), { maxKeys: 30 }),
  ),
}))

describe('map keys of hashes', () => {
  it('keyOf is one to one and reads only its own view of the bytes', () => {
    const a = new Uint8Array(32).fill(0xfe)
    const b = a.slice()
    b[31] = 0
    assert.equal(keyOf(a).length, 16)
    assert.equal(keyOf(a), keyOf(a.slice()))
    assert.notEqual(keyOf(a), keyOf(b))
    const big = new Uint8Array(64).fill(7)
    big.set(a, 16)
    assert.equal(keyOf(big.subarray(16, 48)), keyOf(a))
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (x, y) => (keyOf(x) === keyOf(y)) === equalBytes(x, y)))
  })
})

describe('canonical encoding', () => {
  it('round-trips JSON-like values and rejects non-canonical bytes', () => {
    fc.assert(fc.property(jsonValue, (v) => {
      const bytes = encode(v)
      assert.deepEqual(encode(decodeCanonical(bytes, 1 << 20, 'v')), bytes)
    }))
    // 0x18 0x01 is a non-minimal encoding of the integer 1.
    assert.throws(() => decodeCanonical(Uint8Array.of(0x18, 0x01), 10, 'v'), DecodeError)
    // map with keys out of canonical order: {"b":1,"a":2}
    assert.throws(() => decodeCanonical(Uint8Array.of(0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x02), 100, 'v'), /canonical/)
  })
  it('writes exactly the bytes cborg writes, and gives the value decoding them gives', () => {
    fc.assert(fc.property(anyValue, (v) => {
      const { bytes, decoded } = encodeWithCopy(v, true)
      assert.equal(toHex(bytes), toHex(cborgEncode(v)))
      if (decoded !== undefined) assert.deepStrictEqual(decoded, cborgDecode(bytes, CBORG_STRICT))
    }), { numRuns: 2000 })
  })
  it('reads and writes the ledger\'s values itself, without handing them to cborg', () => {
    // Bytes and JSON as transactions, results and blocks carry them: the fallback above must stay the exception.
    const unicode = fc.string({ unit: 'grapheme', maxLength: 80 }).filter((t) => t.charCodeAt(0) !== 0xfeff && t !== '__proto__')
    const ledgerValue = fc.oneof(jsonValue, fc.array(fc.oneof(fc.uint8Array({ maxLength: 100 }), jsonValue, unicode, fc.dictionary(unicode, fc.oneof(unicode, jsonValue)))))
    fc.assert(fc.property(ledgerValue, (v) => {
      const bytes = cborgEncode(v)
      assert.equal(toHex(fastEncode(v, false).bytes), toHex(bytes))
      assert.deepStrictEqual(fastDecode(bytes), cborgDecode(bytes, CBORG_STRICT))
    }), { numRuns: 2000 })
  })
  it('reads what cborg reads, as cborg reads it, and refuses what it refuses with its reason', () => {
    const same = (bytes: Uint8Array): void => {
      let want: { value: unknown } | { error: string }
      try {
        want = { value: cborgDecode(bytes, CBORG_STRICT) }
      } catch (err) {
        want = { error: `v: malformed CBOR (${(err as Error).message})` }
      }
      let got: { value: unknown } | { error: string }
      try {
        got = { value: decodeStrict(bytes, 1 << 20, 'v') }
      } catch (err) {
        got = { error: (err as Error).message }
      }
      assert.deepStrictEqual(got, want)
    }
    // Valid encodings, then the same with one byte changed, cut short or extended: every branch of the reader sees bad input.
    fc.assert(fc.property(anyValue, fc.nat(), fc.integer({ min: 0, max: 255 }), (v, at, byte) => {
      const bytes = cborgEncode(v)
      same(bytes)
      const i = at % bytes.length
      const changed = bytes.slice()
      changed[i] = byte
      same(changed)
      same(bytes.subarray(0, i))
      same(Uint8Array.from([...bytes, byte]))
    }), { numRuns: 3000 })
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), same), { numRuns: 3000 })
    // Forms cborg refuses or reads its own way: non-shortest heads, big integers, undefined, tags, NaN, duplicate keys, a BOM, bad UTF-8, halves.
    for (const hex of ['1801', '1900ff', '1b0000000100000000', '1b0020000000000000', '3b001fffffffffffff', 'f7', 'c11a00000000', 'f97e00', 'f9fc00', 'f98000', 'f90001',
      'a2616101616102', '63efbbbf', '78' + '41' + 'efbbbf' + '61'.repeat(62), '62c328', 'a10102', '5f41614162ff', '9f01ff', '8201']) {
      same(Uint8Array.from(Buffer.from(hex, 'hex')))
    }
    // Nesting deeper than the fast codec's recursion goes to cborg both ways, as before.
    for (const depth of [100, 20_000]) {
      let deep: unknown = 1
      for (let i = 0; i < depth; i++) deep = [deep]
      let want: string
      try {
        want = toHex(cborgEncode(deep))
      } catch (err) {
        want = (err as Error).name
      }
      let got: string
      try {
        got = toHex(encode(deep))
      } catch (err) {
        got = (err as Error).name
      }
      assert.equal(got, want, `depth ${depth}`)
      same(Uint8Array.from([...new Array<number>(depth).fill(0x81), 0x01]))
    }
    // cborg makes the value of a "__proto__" key the object's prototype (a new object each time, so not compared above); so does decodeStrict.
    assert.deepEqual(Object.getPrototypeOf(decodeStrict(Uint8Array.from(Buffer.from('a1695f5f70726f746f5f5fa1617801', 'hex')), 100, 'v')), { x: 1 })
  })
  it('refuses oversized input before decoding', () => {
    assert.throws(() => decodeCanonical(new Uint8Array(101), 100, 'msg'), /exceeds the limit/)
  })
})

describe('transactions', () => {
  it('round-trip and verify; the id hashes the whole encoding, signature included', () => {
    const tx = sampleTx('1')
    const back = decodeTx(tx.bytes)
    assert.equal(toHex(back.id), toHex(tx.id))
    assert.equal(toHex(tx.id), toHex(sha256(tx.bytes)))
    assert.equal(tx.version, 2)
    verifyTx(back, 'test')
    assert.notEqual(toHex(sampleTx('2').id), toHex(tx.id))
    // Other signature bytes under the same body are other bytes with another id: nothing certified
    // by id can be paired with them (they do not verify, and a second valid signature would be a
    // second transaction, refused by the signer's nonce on execution).
    const other = new Uint8Array(tx.bytes)
    other[other.length - 1]! ^= 1
    assert.notEqual(toHex(decodeTx(other).id), toHex(tx.id))
  })
  it('refuse a signature malleated to S + L, so nobody but the signer makes a second valid encoding', () => {
    const tx = sampleTx('m')
    const L = (1n << 252n) + 27742317777372353535851937790883648493n
    let S = 0n
    for (let i = 63; i >= 32; i--) S = (S << 8n) | BigInt(tx.sig[i]!)
    const s2 = S + L
    assert.ok(s2 < 1n << 256n)
    const sig = new Uint8Array(tx.sig)
    for (let i = 32, v = s2; i < 64; i++, v >>= 8n) sig[i] = Number(v & 0xffn)
    const b = tx.body
    const malleated = decodeTx(encode([2, b.chainId, b.signer, b.instance, b.method, b.args, b.nonce, sig]))
    assert.throws(() => verifyTx(malleated, 'test'), /signature does not verify/)
  })
  it('of format 1 (protocol-1 chains) keep their old id, and their signatures cannot be re-wrapped as format 2', () => {
    const b = sampleTx('1').body
    const legacySig = client.sign(txSignBytes(b, 1))
    const legacy = decodeTx(encode([1, b.chainId, b.signer, b.instance, b.method, b.args, b.nonce, legacySig]))
    assert.equal(legacy.version, 1)
    assert.equal(toHex(legacy.id), toHex(sha256(txSignBytes(b, 1))))
    verifyTx(legacy, 'test', 1)
    assert.throws(() => verifyTx(legacy, 'test'), /format version 1 is not accepted on this chain, which takes version 2/)
    const rewrapped = decodeTx(encode([2, b.chainId, b.signer, b.instance, b.method, b.args, b.nonce, legacySig]))
    assert.throws(() => verifyTx(rewrapped, 'test'), /signature does not verify/)
    assert.throws(() => decodeTx(encode([3, b.chainId, b.signer, b.instance, b.method, b.args, b.nonce, legacySig])), /unsupported version 3/)
  })
  it('cut their sign bytes from the encoding exactly as the body encodes them', () => {
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,20}$/)
    fc.assert(fc.property(name, name, fc.dictionary(jsonKey, jsonValue, { noNullPrototype: true }), fc.string({ maxLength: 64 }), (instance, method, args, nonce) => {
      const tx = signTx({ chainId: 'test', signer: client.publicKey, instance, method, args, nonce }, client)
      const back = decodeTx(tx.bytes)
      assert.equal(toHex(back.signBytes), toHex(txSignBytes(tx.body)))
      assert.equal(toHex(back.id), toHex(tx.id))
    }), { numRuns: 200 })
  })
  it('cut their sign bytes right at every CBOR length-header size', () => {
    for (const n of [0, 1, 23, 24, 255, 256, 65_535 - 200, 60_000]) {
      const tx = signTx({ chainId: 'test', signer: client.publicKey, instance: 'kv', method: 'put', args: { s: 'y'.repeat(n) }, nonce: 'n' }, client)
      assert.equal(toHex(decodeTx(tx.bytes).signBytes), toHex(txSignBytes(tx.body)), `args of ${n} bytes`)
    }
  })
  it('are refused for another chain or with a changed byte', () => {
    const tx = sampleTx('1')
    assert.throws(() => verifyTx(tx, 'other'), /chain "test"/)
    let refused = 0
    for (let i = 0; i < tx.bytes.length; i++) {
      const b = new Uint8Array(tx.bytes)
      b[i]! ^= 0x01
      try {
        verifyTx(decodeTx(b), 'test')
      } catch (err) {
        assert.ok(err instanceof DecodeError || err instanceof ValidationError)
        refused++
      }
    }
    assert.equal(refused, tx.bytes.length)
  })
})

describe('blocks and certificates', () => {
  const txs = [sampleTx('1'), sampleTx('2'), sampleTx('3')]
  const results = txs.map((_, i) => ({ code: i === 2 ? 3 : 0, error: i === 2 ? 'boom' : null, ret: i, writes: i === 2 ? [] : [{ instance: 'kv1', key: `k${i}`, value: encode(i) }] }))
  const block: Block = {
    header: {
      chainId: 'test', height: 7, prevHash: sha256(Uint8Array.of(1)), time: 1_700_000_000_000, txRoot: txRootOf(txs), resultsRoot: resultsRootOf(results),
      stateRoot: sha256(Uint8Array.of(2)), batchDigest: batchDigest(1_700_000_000_000, sha256(Uint8Array.of(1)), txRootOf(txs)), validatorsHash: ZERO_HASH,
    },
    txs, results,
  }
  it('round-trip', () => {
    const back = decodeBlock(encodeBlock(block))
    assert.deepEqual(encodeBlock(back), encodeBlock(block))
    assert.deepEqual(headerHash(decodeHeader(encodeHeader(block.header))), headerHash(block.header))
  })
  it('give their header and transactions without their results as a full decode does, and its errors for bytes that are not a block', () => {
    const bytes = encodeBlock(block)
    const part = decodeBlockTxs(bytes)
    const full = decodeBlockToRebuild(bytes)
    assert.deepEqual(part.header, full.header)
    assert.deepEqual(part.txs.map((t) => [toHex(t.id), toHex(t.bytes), toHex(t.sig), toHex(t.signBytes), t.body]), full.txs.map((t) => [toHex(t.id), toHex(t.bytes), toHex(t.sig), toHex(t.signBytes), t.body]))
    const answer = (f: () => unknown): string => {
      try {
        f()
        return 'accepted'
      } catch (err) {
        return (err as Error).message
      }
    }
    for (const i of [0, 1, 2, 5, 40, 100, 200, bytes.length - 1]) {
      const cut = bytes.subarray(0, i)
      assert.equal(answer(() => decodeBlockTxs(cut)), answer(() => decodeBlockToRebuild(cut)), `cut at ${i}`)
    }
    // A transaction that does not decode is named by its index either way.
    const badTx = concatBytes(Uint8Array.of(0x83), encodeHeader(block.header), encode([txs[0]!.bytes, Uint8Array.of(0x01)]), encode([]))
    assert.match(answer(() => decodeBlockTxs(badTx)), /^block\.txs\[1\]: /)
    assert.match(answer(() => decodeBlockToRebuild(badTx)), /^block\.txs\[1\]: /)
  })
  it('sealed: encoded once, exactly as encodeBlock encodes it, with the results root resultsRootOf gives', () => {
    const { resultsRoot: _, ...fields } = block.header
    const result = fc.record({
      code: fc.integer({ min: 0, max: 0xffff }),
      error: fc.option(fc.string({ maxLength: 40 })),
      ret: jsonValue,
      writes: fc.array(fc.record({ instance: fc.constantFrom('kv1', 'sleep'), key: fc.string({ maxLength: 300 }), value: fc.option(fc.uint8Array({ maxLength: 300 })) }), { maxLength: 3 }),
    })
    fc.assert(fc.property(fc.array(result, { maxLength: txs.length }), (rs) => {
      const sealed = sealBlock(fields, txs.slice(0, rs.length), rs)
      assert.equal(toHex(sealed.bytes), toHex(encodeBlock(sealed.block)))
      assert.equal(toHex(sealed.block.header.resultsRoot), toHex(resultsRootOf(rs)))
    }))
  })
  it('merkle root depends on order and every item', () => {
    const ids = txs.map((t) => t.id)
    assert.notDeepEqual(merkleRoot(ids), merkleRoot([ids[1]!, ids[0]!, ids[2]!]))
    assert.notDeepEqual(merkleRoot(ids), merkleRoot(ids.slice(0, 2)))
    assert.deepEqual(merkleRoot([]), ZERO_HASH)
  })
  it('batched 64-byte hashing gives plain SHA-256 digests (what the fallback computes)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 40 }).chain((n) => fc.uint8Array({ minLength: 64 * n, maxLength: 64 * n })), (input) => {
      const out = new Uint8Array(input.length / 2)
      hash64Into(input, out)
      for (let i = 0; i < input.length / 64; i++) assert.equal(toHex(out.subarray(32 * i, 32 * i + 32)), toHex(sha256(input.subarray(64 * i, 64 * i + 64))))
    }))
    assert.throws(() => hash64Into(new Uint8Array(63), new Uint8Array(32)), /63 input bytes/)
  })
  it('merkle root equals a node-by-node reference over 1..40 items', () => {
    const cat = (a: Uint8Array, b: Uint8Array): Uint8Array => sha256(Uint8Array.from([...a, ...b]))
    const reference = (items: Uint8Array[]): Uint8Array => {
      let level = items.map((it) => cat(it, MERKLE_LEAF_TAG))
      while (level.length > 1) level = Array.from({ length: Math.ceil(level.length / 2) }, (_, i) => (level[2 * i + 1] === undefined ? level[2 * i]! : cat(level[2 * i]!, level[2 * i + 1]!)))
      return level[0]!
    }
    const items = Array.from({ length: 40 }, (_, i) => sha256(Uint8Array.of(i)))
    for (let n = 1; n <= 40; n++) assert.equal(toHex(merkleRoot(items.slice(0, n))), toHex(reference(items.slice(0, n))), `${n} items`)
  })
  it('certificate verifies with 2f+1 validators and fails otherwise', () => {
    const vals = [0, 1, 2, 3].map(() => new Signer(generateKeyPair()))
    const keys = vals.map((v) => v.publicKey)
    const dom: SignDomain = { chainId: 'test', validatorsHash: ZERO_HASH }
    const sigFor = (i: number) => ({ replica: i, sig: vals[i]!.sign(commitSignBytes(dom, 1, 7, block.header.batchDigest)) })
    const cert: CommitCertificate = { view: 1, seq: 7, digest: block.header.batchDigest, sigs: [sigFor(0), sigFor(2), sigFor(3)] }
    verifyCommitCertificate(decodeCertificate(encodeCertificate(cert)), dom, keys, 3)
    assert.throws(() => verifyCommitCertificate({ ...cert, sigs: cert.sigs.slice(0, 2) }, dom, keys, 3), /2 signatures, 3 needed/)
    assert.throws(() => verifyCommitCertificate({ ...cert, sigs: [sigFor(0), sigFor(0), sigFor(3)] }, dom, keys, 3), /signs twice/)
    assert.throws(() => verifyCommitCertificate({ ...cert, seq: 8 }, dom, keys, 3), /does not verify/)
    assert.throws(() => verifyCommitCertificate(cert, { ...dom, chainId: 'other' }, keys, 3), /does not verify/)
    // Signatures checked elsewhere (a signature pool) are trusted; every other one is still verified.
    const forged = { ...cert, sigs: [cert.sigs[0]!, { replica: 2, sig: cert.sigs[2]!.sig }, cert.sigs[2]!] }
    assert.throws(() => verifyCommitCertificate(forged, dom, keys, 3, (s) => s === forged.sigs[0]), /replica 2 does not verify/)
    const asked: number[] = []
    verifyCommitCertificate(cert, dom, keys, 3, (s) => (asked.push(s.replica), s.replica === 0))
    assert.deepEqual(asked, [0, 2, 3])
  })
})

describe('genesis', () => {
  it('validates and names the bad field', () => {
    const k = toHex(generateKeyPair().publicKey)
    const good = { chainId: 'c1', genesisTime: '2026-11-25T00:00:00Z', validators: [{ index: 0, name: 'vp0', publicKey: k, peerId: 'p', addresses: ['/ip4/127.0.0.1/tcp/1'] }], admins: [k], consensus: { batchMaxCount: 10 } }
    const g = parseGenesis(good)
    assert.equal(g.consensus.batchMaxCount, 10)
    assert.deepEqual(parseGenesis(genesisJson(g)), g)
    assert.throws(() => parseGenesis({ ...good, chainId: 'bad id!' }), /genesis\.chainId/)
    assert.throws(() => parseGenesis({ ...good, consensus: { checkpointInterval: 0 } }), /consensus\.checkpointInterval/)
    assert.throws(() => parseGenesis({ ...good, admins: ['zz'] }), /admins\[0\]/)
  })

  it('names its ledger protocol; a file without one is protocol 1 and keeps its hash', () => {
    const k = toHex(generateKeyPair().publicKey)
    const old = { chainId: 'c1', genesisTime: '2026-11-25T00:00:00Z', validators: [{ index: 0, name: 'vp0', publicKey: k, peerId: 'p', addresses: ['/ip4/127.0.0.1/tcp/1'] }], admins: [k] }
    const g1 = parseGenesis(old)
    assert.equal(g1.protocol, 1)
    assert.equal('protocol' in genesisJson(g1), false)
    const g2 = parseGenesis({ ...old, protocol: 2 })
    assert.equal(genesisJson(g2).protocol, 2)
    assert.notEqual(toHex(genesisHash(g1)), toHex(genesisHash(g2)))
    assert.throws(() => parseGenesis({ ...old, protocol: 3 }), /genesis\.protocol: must be 1 or 2/)
    // Batch digests of the two protocols never coincide.
    assert.notEqual(toHex(batchDigest(1, ZERO_HASH, ZERO_HASH, 1)), toHex(batchDigest(1, ZERO_HASH, ZERO_HASH, 2)))
  })
})

describe('consensus message bounds', () => {
  const genesisOf = (n: number, consensus: Record<string, number>): unknown => {
    const validators = Array.from({ length: n }, (_, i) => ({ index: i, name: `vp${i}`, publicKey: toHex(generateKeyPair().publicKey), peerId: 'p', addresses: ['/ip4/127.0.0.1/tcp/1'] }))
    return { chainId: 'c1', protocol: 2, genesisTime: '2026-11-25T00:00:00Z', validators, admins: [], consensus }
  }

  it('genesis refuses a watermark window whose NEW-VIEW could outgrow the frame, for every validator count', () => {
    for (const n of [1, 4, 5, 7, 16, 64]) {
      const g = genesisOf(n, {}) as { consensus: Record<string, number> }
      const accepted = (L: number): boolean => {
        try {
          parseGenesis({ ...g, consensus: { batchMaxBytes: MAX_BATCH_MAX_BYTES, batchMaxCount: 10_000, watermarkWindow: L } })
          return true
        } catch (err) {
          assert.match((err as Error).message, /watermarkWindow: with \d+ validators, a NEW-VIEW could reach \d+ bytes, over the \d+-byte frame limit/)
          return false
        }
      }
      let lo = 20
      let hi = 100_000
      assert.ok(accepted(lo), `n = ${n}: the default window is accepted`)
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2)
        if (accepted(mid)) lo = mid
        else hi = mid - 1
      }
      // The largest window accepted is the largest whose bound fits: every accepted parameter set fits the frame.
      assert.ok(maxNewViewBytes(n, lo) <= MAX_CONSENSUS_FRAME_BYTES && maxConsensusMessageBytes(n, { ...DEFAULT_CONSENSUS, batchMaxBytes: MAX_BATCH_MAX_BYTES, batchMaxCount: 10_000, watermarkWindow: lo }) <= MAX_CONSENSUS_FRAME_BYTES)
      if (lo < 100_000) assert.ok(maxNewViewBytes(n, lo + 1) > MAX_CONSENSUS_FRAME_BYTES, `n = ${n}: window ${lo + 1} refused only because it could not fit`)
      assert.ok(maxViewChangeBytes(n, lo) < maxNewViewBytes(n, lo))
    }
    assert.throws(() => parseGenesis(genesisOf(64, { watermarkWindow: 100_000 })), /frame limit/)
    assert.doesNotThrow(() => parseGenesis(genesisOf(64, {})), 'the default parameters fit with 64 validators')
  })
})

describe('quorum', () => {
  it('any two quorums of n validators share at least f+1, for every n genesis allows', () => {
    for (let n = 1; n <= 64; n++) {
      const f = faultTolerance(n)
      const q = quorumSize(n)
      assert.ok(2 * q - n >= f + 1, `n=${n}: two quorums of ${q} may share only ${2 * q - n}, f+1 = ${f + 1}`)
      // Smallest such quorum, so that n - f honest validators still make one (liveness).
      assert.ok(2 * (q - 1) - n < f + 1, `n=${n}: quorum ${q} is larger than needed`)
      assert.ok(q <= n - f, `n=${n}: ${n - f} honest validators cannot make a quorum of ${q}`)
    }
  })

  it('is 2f+1 for n = 3f+1 and larger where the formula 2f+1 forks (n = 5, 6)', () => {
    assert.deepEqual([4, 5, 6, 7, 10].map(quorumSize), [3, 4, 4, 5, 7])
  })

  it('warns where f = 0 and says what a network tolerates', () => {
    assert.match(networkGuarantee(3).warning ?? '', /tolerate no Byzantine validator.*1 may be down/)
    assert.match(networkGuarantee(1).warning ?? '', /no validator may be down/)
    assert.deepEqual(networkGuarantee(6), { f: 1, quorum: 4, crashTolerance: 2, warning: null })
  })
})
