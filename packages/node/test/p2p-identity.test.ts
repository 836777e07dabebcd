import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import '../src/p2p/polyfill.js'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateKeyPair, Signer, ValidationError, verifySignature } from '@vigil/common'
import { createHost, validatorPeerIds } from '../src/p2p/host.js'
import { libp2pKeyFromSeed, peerIdFromPublicKey } from '../src/p2p/identity.js'
import { silentLogger, validatorSet } from './p2p-helpers/cluster.js'

describe('p2p identity', () => {
  it('derives the same key and peer id as libp2p does from the seed', async () => {
    for (let i = 0; i < 5; i++) {
      const pair = generateKeyPair()
      const ours = libp2pKeyFromSeed(pair)
      const theirs = await generateKeyPairFromSeed('Ed25519', pair.seed)
      assert.deepEqual(ours.raw, theirs.raw)
      assert.deepEqual(ours.publicKey.raw, pair.publicKey)
      assert.equal(peerIdFromPublicKey(pair.publicKey), peerIdFromPrivateKey(theirs).toString())
      // Signatures made through libp2p verify as ledger signatures and back.
      const msg = new Uint8Array([1, 2, 3, i])
      assert.ok(verifySignature(pair.publicKey, msg, await ours.sign(msg)))
      assert.ok(await ours.publicKey.verify(msg, new Signer(pair).sign(msg)))
    }
  })

  it('refuses a key pair whose public key does not match the seed', () => {
    const a = generateKeyPair()
    const b = generateKeyPair()
    assert.throws(() => libp2pKeyFromSeed({ seed: a.seed, publicKey: b.publicKey }), ValidationError)
    assert.throws(() => peerIdFromPublicKey(new Uint8Array(31)), ValidationError)
  })

  it('checks genesis peer ids against public keys, and our key against our slot', async () => {
    const set = validatorSet([1, 2, 3])
    assert.deepEqual(validatorPeerIds(set.validators), set.validators.map((v) => v.peerId))
    const wrong = set.validators.map((v, i) => (i === 1 ? { ...v, peerId: (set.validators[0] as typeof v).peerId } : v))
    assert.throws(() => validatorPeerIds(wrong), /validators\[1\]\.peerId/)
    const opts = { keyPair: set.keys[0]!, listen: [], validators: set.validators, logger: silentLogger }
    await assert.rejects(createHost({ ...opts, self: 1 }), /not validator 1's key/)
    await assert.rejects(createHost({ ...opts, self: 7 }), /not in the validator set/)
  })
})
