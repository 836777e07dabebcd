import { concatBytes, equalBytes, keyPairFromSeed, ValidationError, type KeyPair } from '@vigil/common'
import { privateKeyFromRaw, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey as libp2pPeerIdFromPublicKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'

/**
 * A validator's libp2p identity is its ledger ed25519 key, so the peer id in genesis is derived
 * from (and checked against) the public key that signs consensus messages.
 */

/** The libp2p Ed25519 private key for our key pair (libp2p's raw form is seed || public key). */
export function libp2pKeyFromSeed(pair: KeyPair): PrivateKey {
  // privateKeyFromRaw trusts the public half; a mismatched pair would give a peer id nobody expects.
  if (!equalBytes(keyPairFromSeed(pair.seed).publicKey, pair.publicKey)) throw new ValidationError('key pair: public key does not match seed')
  return privateKeyFromRaw(concatBytes(pair.seed, pair.publicKey))
}

/** The libp2p peer id string (base58btc identity multihash) of an ed25519 public key. */
export function peerIdFromPublicKey(publicKey: Uint8Array): string {
  if (publicKey.byteLength !== 32) throw new ValidationError('ed25519 public key must be 32 bytes')
  return libp2pPeerIdFromPublicKey(publicKeyFromRaw(publicKey)).toString()
}
