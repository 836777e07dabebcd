import { Signer, TX_VERSION, keyPairFromSeed, signTx, toHex, type Tx, type TxResult } from '@vigil/common'
import { executeBlock, MemoryState, type BlockContext } from '../src/execution/index.js'

/** Shared by the execution*.test.ts files: fixed keys, transaction building, one-block runs. */
export const CHAIN_ID = 'vigil-test'

const signer = (n: number): Signer => new Signer(keyPairFromSeed(new Uint8Array(32).fill(n)))
export const admin = signer(1)
export const patient = signer(2)
export const clinician = signer(3)
export const stranger = signer(4)
export const hex = (s: Signer): string => toHex(s.publicKey)

let nonces = 0
export function makeTx(from: Signer, instance: string, method: string, args: Record<string, unknown>, nonce = `n${++nonces}`): Tx {
  return signTx({ chainId: CHAIN_ID, signer: from.publicKey, instance, method, args, nonce }, from)
}

export const blockContext = (height: number): BlockContext => ({ height, time: 1_700_000_000_000 + height * 1000, chainId: CHAIN_ID, txVersion: TX_VERSION, admins: [admin.publicKey] })

/** Executes txs as block `height` and commits the results to `state`. */
export async function runBlock(state: MemoryState, txs: Tx[], height = 1): Promise<TxResult[]> {
  const results = await executeBlock(txs, blockContext(height), state)
  state.commit(results)
  return results
}

export const deployTx = (name: string, contract: string, init?: Record<string, unknown>): Tx =>
  makeTx(admin, '_lifecycle', 'deploy', init === undefined ? { name, contract } : { name, contract, init })

/** A fresh state with the given instances deployed at height 1. */
export async function stateWith(instances: Record<string, string>): Promise<MemoryState> {
  const state = new MemoryState()
  const results = await runBlock(state, Object.entries(instances).map(([name, contract]) => deployTx(name, contract)))
  for (const r of results) if (r.code !== 0) throw new Error(`deploy failed: ${r.error}`)
  return state
}
