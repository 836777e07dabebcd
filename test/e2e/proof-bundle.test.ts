import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import fc from 'fast-check'
import { Signer, commitSignBytes, fromHex, generateKeyPair, toHex, validatorsHash, type KeyPair } from '@vigil/common'
import { buildBundle, bundleText, certifiedProof, describeFacts, verifyBundle, verifyBundleText, type ProofBundle } from '@vigil/node'
import { diaryTxs, localChain, type LocalChain } from '../src/tamper-chain.js'

/** Issue 6: a proof bundle verifies offline, and every altered bundle is rejected. */
describe('proof bundles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-proof-'))
  let chain: LocalChain
  let other: LocalChain
  let bundle: ProofBundle
  let second: ProofBundle
  let foreign: ProofBundle

  const prove = async (c: LocalChain, key: string): Promise<ProofBundle> => {
    const p = await certifiedProof(c.store, c.genesis, 'sleep', key, 0)
    assert.ok(p !== null, `no certified proof for ${key}`)
    return buildBundle('sleep', key, JSON.parse(JSON.stringify(p)))
  }

  before(async () => {
    chain = await localChain(join(dir, 'a'))
    for (let b = 0; b < 3; b++) await chain.commit(diaryTxs(chain, 8, b * 8))
    await chain.commit([]) // the empty block that certifies the last state, as the primary proposes
    bundle = await prove(chain, 'entry/P-1/000000002')
    second = await prove(chain, 'entry/P-2/000000001')
    // Another chain of the same validators: its headers and certificates are real, for another chain.
    other = await localChain(join(dir, 'b'), { chainId: 'vigil-other', validatorKeys: chain.validatorKeys })
    await other.commit(diaryTxs(other, 8, 0))
    await other.commit([])
    foreign = await prove(other, 'entry/P-1/000000001')
  })
  after(async () => {
    await chain?.store.close()
    await other?.store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const rejected = (b: unknown, why?: RegExp): void => {
    assert.throws(() => verifyBundleText(JSON.stringify(b, null, 2) + '\n', chain.genesis), why ?? /bundle/)
  }
  const clone = (b: ProofBundle): ProofBundle => structuredClone(b)

  it('verifies, says what it proves, and is stable under its canonical form', () => {
    const text = bundleText(bundle)
    const facts = verifyBundleText(text, chain.genesis)
    assert.equal(facts.written?.height, 3)
    assert.equal(facts.signers.length, 3)
    assert.equal(bundleText(JSON.parse(text)), text)
    assert.throws(() => verifyBundle(bundle, other.genesis), /chainId/)
  })

  it('proves absence too', async () => {
    const absent = await prove(chain, 'entry/P-1/000000999')
    const facts = verifyBundle(absent, chain.genesis)
    assert.equal(facts.written, null)
    assert.match(describeFacts(facts), /^sleep\/entry\/P-1\/000000999 is absent from the state of block \d+/)
    rejected({ ...clone(absent), value: bundle.value, valueCbor: bundle.valueCbor }, /bundle\.proof: does not link/)
  })

  it('rejects any change to any leaf field', () => {
    const leaves: Array<Array<string | number>> = []
    const walk = (v: unknown, path: Array<string | number>): void => {
      if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, Array.isArray(v) ? Number(k) : k])
      else leaves.push(path)
    }
    walk(bundle, [])
    assert.ok(leaves.length > 40)
    fc.assert(
      fc.property(fc.constantFrom(...leaves), fc.integer({ min: 1, max: 1_000_000 }), fc.string({ minLength: 1, maxLength: 4 }), (path, n, s) => {
        const b = clone(bundle) as unknown as Record<string | number, unknown>
        let o = b
        for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>
        const last = path[path.length - 1]!
        const old = o[last]
        if (typeof old === 'number') o[last] = old + n
        else if (typeof old === 'string' && /^[0-9a-f]+$/.test(old)) o[last] = old.slice(0, -1) + (old.endsWith('0') ? '1' : '0')
        else if (typeof old === 'string') o[last] = old + s
        else o[last] = old === null ? n : null
        rejected(b)
      }),
      { numRuns: 400 },
    )
  })

  it('rejects any changed byte of the file', () => {
    const text = bundleText(bundle)
    fc.assert(
      fc.property(fc.nat({ max: text.length - 1 }), fc.integer({ min: 1, max: 94 }), (at, shift) => {
        const code = text.charCodeAt(at)
        const ch = String.fromCharCode(32 + ((code - 32 + shift) % 95))
        fc.pre(ch !== text[at])
        assert.throws(() => verifyBundleText(text.slice(0, at) + ch + text.slice(at + 1), chain.genesis))
      }),
      { numRuns: 600 },
    )
  })

  it('rejects missing and unknown fields', () => {
    for (const k of Object.keys(bundle)) {
      const b = clone(bundle) as unknown as Record<string, unknown>
      delete b[k]
      rejected(b, /is missing/)
    }
    rejected({ ...clone(bundle), note: 'trust me' }, /unknown field "note"/)
  })

  it('rejects a signature from a non-validator, a forged signature and a duplicated signer', () => {
    const outsider: KeyPair = generateKeyPair()
    const c = bundle.certifiedBy.certificate
    const msg = commitSignBytes({ chainId: chain.genesis.chainId, validatorsHash: validatorsHash(chain.genesis.validators) }, c.view, c.seq, fromHex(c.digest))
    const outsiderSig = toHex(new Signer(outsider).sign(msg))
    const asExtra = clone(bundle)
    asExtra.certifiedBy.certificate.sigs.push({ replica: 4, sig: outsiderSig })
    rejected(asExtra, /signer 4 is not a validator/)
    const impostor = clone(bundle)
    impostor.certifiedBy.certificate.sigs[0]!.sig = outsiderSig
    rejected(impostor, /does not verify/)
    const twice = clone(bundle)
    twice.certifiedBy.certificate.sigs[2] = { ...twice.certifiedBy.certificate.sigs[0]! }
    rejected(twice, /signs twice/)
    const short = clone(bundle)
    short.certifiedBy.certificate.sigs.pop()
    rejected(short, /2 signatures, 3 needed/)
  })

  it('rejects a proof for another key and a header or certificate from another chain', () => {
    const swappedKey = { ...clone(bundle), key: second.key, value: second.value, valueCbor: second.valueCbor }
    rejected(swappedKey, /bundle\.proof: does not link/)
    rejected({ ...clone(bundle), proof: second.proof }, /bundle\.proof: does not link/)
    rejected({ ...clone(bundle), header: foreign.header, certifiedBy: foreign.certifiedBy }, /header\.chainId/)
    rejected({ ...clone(foreign), chainId: chain.genesis.chainId }, /header\.chainId/)
    rejected({ ...clone(bundle), certifiedBy: foreign.certifiedBy }, /certificate\.digest|certifiedBy\.height/)
    const stale = clone(bundle)
    stale.certifiedBy.height += 1
    stale.certifiedBy.certificate.seq += 1
    rejected(stale, /certifiedBy\.height/)
  })
})
