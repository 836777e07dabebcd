import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  DecodeError, Signer, ValidationError, batchDigest, commitSignBytes, decodeBlock, decodeCanonical, decodeCertificate, decodeHeader, decodeTx,
  encode, encodeBlock, encodeCertificate, encodeHeader, generateKeyPair, hash64Into, headerHash, MERKLE_LEAF_TAG, merkleRoot, parseGenesis, genesisJson, resultsRootOf, sealBlock, sha256,
  signTx, toHex, txRootOf, txSignBytes, verifyCommitCertificate, verifyTx, ZERO_HASH, type Block, type CommitCertificate, type SignDomain,
} from '../src/index.js'

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
  it('refuses oversized input before decoding', () => {
    assert.throws(() => decodeCanonical(new Uint8Array(101), 100, 'msg'), /exceeds the limit/)
  })
})

describe('transactions', () => {
  it('round-trip and verify; id covers the body', () => {
    const tx = sampleTx('1')
    const back = decodeTx(tx.bytes)
    assert.equal(toHex(back.id), toHex(tx.id))
    verifyTx(back, 'test')
    assert.notEqual(toHex(sampleTx('2').id), toHex(tx.id))
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
})
