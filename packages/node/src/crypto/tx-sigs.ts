import { txSignBytes, type Tx } from '@vigil/common'
import type { SigCheck } from './sig-batch.js'
import type { SigPool } from './sig-pool.js'

/** cbor array(7) + cbor text 'vigil/tx/1': the head of txSignBytes in place of the envelope's array(8) + version 1. */
const SIGNED_HEAD = Uint8Array.of(0x87, 0x6a, ...new TextEncoder().encode('vigil/tx/1'))
/** A 64-byte signature as the last field: cbor bytes(64) header + the signature. */
const SIG_TAIL = 2 + 64

/**
 * The bytes a transaction's signature covers, txSignBytes(tx.body), taken from its canonical
 * envelope [1, chainId, signer, instance, method, args, nonce, sig]: the six body fields encode
 * to the same bytes in both arrays, so only the head changes. Saves a CBOR encoding per
 * transaction; any other layout falls back to encoding the body.
 */
export function signedBytes(tx: Tx): Uint8Array {
  const b = tx.bytes
  const n = b.byteLength
  if (b[0] !== 0x88 || b[1] !== 0x01 || tx.sig.byteLength !== 64 || b[n - SIG_TAIL] !== 0x58 || b[n - SIG_TAIL + 1] !== 0x40) return txSignBytes(tx.body)
  const out = new Uint8Array(SIGNED_HEAD.byteLength + n - 2 - SIG_TAIL)
  out.set(SIGNED_HEAD)
  out.set(b.subarray(2, n - SIG_TAIL), SIGNED_HEAD.byteLength)
  return out
}

export const txCheck = (tx: Tx): SigCheck => ({ publicKey: tx.body.signer, message: signedBytes(tx), sig: tx.sig })

/**
 * Starts the signature checks of `txs` on the pool. Resolves to the `verified` predicate
 * BlockExecutor.build takes: true only for a transaction of `chainId` whose signature the pool
 * verified; the executor checks any other itself (and refuses it if it is bad).
 */
export async function verifiedTxs(pool: SigPool, txs: readonly Tx[], chainId: string): Promise<(tx: Tx) => boolean> {
  const mine = txs.filter((t) => t.body.chainId === chainId)
  const ok = await pool.verify(mine.map(txCheck))
  const good = new Set<Tx>()
  mine.forEach((t, i) => ok[i] === 1 && good.add(t))
  return (tx) => good.has(tx)
}
