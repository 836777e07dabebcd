import { randomBytes } from 'node:crypto'
import { Signer, signTx, toHex, type KeyPair, type Tx } from '@vigil/common'
import type { ApiClient } from './client.js'

/** Client side of a transaction: sign with the user's key, send, optionally wait for the commit. */
export async function chainIdOf(client: ApiClient): Promise<string> {
  return (await client.get<{ chainId: string }>('/v1/status')).chainId
}

/** Pass a Signer when signing many: building one imports the private key (most of the cost of a signature). */
export function makeTx(chainId: string, key: KeyPair | Signer, instance: string, method: string, args: Record<string, unknown>, nonce?: string): Tx {
  const signer = key instanceof Signer ? key : new Signer(key)
  return signTx({ chainId, signer: signer.publicKey, instance, method, args, nonce: nonce ?? toHex(randomBytes(12)) }, signer)
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
