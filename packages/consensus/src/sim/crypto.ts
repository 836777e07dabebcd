import { concatBytes, equalBytes, sha256 } from '@vigil/common'
import type { ReplicaCrypto } from '../types.js'

/**
 * Cheap but checkable signatures for the simulator: sig = sha256(secret_i || bytes), twice,
 * to fill the 64 bytes of an ed25519 signature. Only replica i knows secret_i (the simulator
 * hands each replica its own ReplicaCrypto), so a Byzantine replica cannot forge another's.
 */
export function simSecrets(n: number, seed: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => sha256(Uint8Array.from([...'vigil-sim'].map((c) => c.charCodeAt(0)).concat([i, seed & 255, (seed >>> 8) & 255, (seed >>> 16) & 255, seed >>> 24]))))
}

function mac(secret: Uint8Array, bytes: Uint8Array): Uint8Array {
  const h = sha256(concatBytes(secret, bytes))
  return concatBytes(h, h)
}

export function simCrypto(id: number, secrets: readonly Uint8Array[]): ReplicaCrypto {
  return {
    sign: (bytes) => mac(secrets[id]!, bytes),
    verify: (replica, bytes, sig) => secrets[replica] !== undefined && sig.byteLength === 64 && equalBytes(mac(secrets[replica]!, bytes), sig),
  }
}

const NO_SIG = new Uint8Array(64)

/** For the benchmark: measures the core, not hashing. */
export const noopCrypto: ReplicaCrypto = { sign: () => NO_SIG, verify: () => true }
