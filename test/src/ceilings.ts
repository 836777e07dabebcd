import { Signer, generateKeyPair, verifySignature } from '@vigil/common'

/**
 * ed25519 verifications per second on one core, through the function the node verifies every
 * transaction with (@vigil/common's verifySignature, libsodium): the ceiling the benches divide by.
 */
export function verifiesPerSec(ms = 1000): number {
  const signer = new Signer(generateKeyPair())
  const msg = new Uint8Array(200).fill(7)
  const sig = signer.sign(msg)
  let n = 0
  const end = performance.now() + ms
  for (; performance.now() < end; n += 100) for (let i = 0; i < 100; i++) if (!verifySignature(signer.publicKey, msg, sig)) throw new Error('ceiling: a valid signature did not verify')
  return Math.round(n / (ms / 1000))
}
