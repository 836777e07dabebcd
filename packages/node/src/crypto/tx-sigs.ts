import type { Tx, TxVersion } from '@vigil/common'
import type { SigCheck } from './sig-batch.js'
import type { SigPool } from './sig-pool.js'

/** A transaction's signature check (its sign bytes were cut from its encoding when it was decoded). */
export const txCheck = (tx: Tx): SigCheck => ({ publicKey: tx.body.signer, message: tx.signBytes, sig: tx.sig })

/**
 * Starts `checks` on the pool (checks[i] is the check of items[i]). Resolves to a predicate
 * true for exactly the items, by identity, whose check verified; the caller checks any other
 * itself (a check whose worker failed comes back unverified, see SigPool).
 */
export async function verifiedSet<T>(pool: SigPool, items: readonly T[], checks: readonly SigCheck[]): Promise<(item: T) => boolean> {
  const ok = await pool.verify(checks)
  const good = new Set<T>()
  items.forEach((t, i) => ok[i] === 1 && good.add(t))
  return (item) => good.has(item)
}

/**
 * The `verified` predicate BlockExecutor.build takes: true only for a transaction of `chainId`, in
 * the chain's format `version`, whose signature the pool verified: exactly what verifyTx accepts.
 * The executor checks any other itself (and refuses it if it is bad).
 */
export function verifiedTxs(pool: SigPool, txs: readonly Tx[], chainId: string, version: TxVersion): Promise<(tx: Tx) => boolean> {
  const mine = txs.filter((t) => t.body.chainId === chainId && t.version === version)
  return verifiedSet(pool, mine, mine.map(txCheck))
}
