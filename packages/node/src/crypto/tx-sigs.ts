import type { Tx } from '@vigil/common'
import type { SigCheck } from './sig-batch.js'
import type { SigPool } from './sig-pool.js'

/** A transaction's signature check (its sign bytes were cut from its encoding when it was decoded). */
export const txCheck = (tx: Tx): SigCheck => ({ publicKey: tx.body.signer, message: tx.signBytes, sig: tx.sig })

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
