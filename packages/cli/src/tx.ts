import { randomBytes } from 'node:crypto'
import { Signer, signTx, toHex, type KeyPair, type Tx } from '@vigil/common'
import type { ApiClient } from './client.js'

/** Client side of a transaction: sign with the user's key, send, optionally wait for the commit. */
export async function chainIdOf(client: ApiClient): Promise<string> {
  return (await client.get<{ chainId: string }>('/v1/status')).chainId
}

export function makeTx(chainId: string, key: KeyPair, instance: string, method: string, args: Record<string, unknown>, nonce?: string): Tx {
  return signTx({ chainId, signer: key.publicKey, instance, method, args, nonce: nonce ?? toHex(randomBytes(12)) }, new Signer(key))
}

export interface CommittedTx {
  txId: string
  height: number
  index: number
  result: { ok: boolean; code: number; error: string | null; ret: unknown }
}

export async function sendTx(client: ApiClient, tx: Tx, wait: boolean): Promise<CommittedTx | { txId: string }> {
  return client.post(`/v1/tx${wait ? '?wait=commit' : ''}`, { tx: toHex(tx.bytes) })
}
