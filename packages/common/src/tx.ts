import { decodeCanonical, encode } from './cbor.js'
import { expectArray, expectBytes, expectJson, expectString, expectUint } from './check.js'
import { DecodeError, ValidationError } from './errors.js'
import { sha256 } from './hash.js'
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, Signer, verifySignature } from './keys.js'

/**
 * A transaction: a signed envelope asking contract instance `instance` to run `method`
 * with named JSON `args`. The signature covers every field, chain id included, so a
 * transaction cannot be replayed on another chain. Its id is the hash of the signed body,
 * so two signatures over one body are one transaction.
 */
export interface TxBody {
  chainId: string
  /** Client ed25519 public key. */
  signer: Uint8Array
  instance: string
  method: string
  /** One JSON object of named arguments. */
  args: Record<string, unknown>
  /** Client-chosen; with the signer it makes the transaction unique. */
  nonce: string
}

export interface Tx {
  readonly body: TxBody
  readonly sig: Uint8Array
  /** sha256 of the signed body. */
  readonly id: Uint8Array
  /** The canonical encoding, exactly as carried in blocks. */
  readonly bytes: Uint8Array
}

export const TX_VERSION = 1
export const MAX_TX_BYTES = 64 * 1024
export const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/
const CHAIN_ID_RE = /^[A-Za-z0-9_.-]{1,64}$/
const NONCE_MAX = 64

function bodyFields(b: TxBody): unknown[] {
  return [b.chainId, b.signer, b.instance, b.method, b.args, b.nonce]
}

export function txSignBytes(body: TxBody): Uint8Array {
  return encode(['vigil/tx/1', ...bodyFields(body)])
}

export function txId(body: TxBody): Uint8Array {
  return sha256(txSignBytes(body))
}

function assemble(body: TxBody, sig: Uint8Array, bytes?: Uint8Array): Tx {
  return { body, sig, id: txId(body), bytes: bytes ?? encode([TX_VERSION, ...bodyFields(body), sig]) }
}

function checkBody(b: TxBody): TxBody {
  expectString(b.chainId, 'tx.chainId', 64, CHAIN_ID_RE)
  expectBytes(b.signer, 'tx.signer', PUBLIC_KEY_BYTES)
  expectString(b.instance, 'tx.instance', 64, NAME_RE)
  expectString(b.method, 'tx.method', 64, NAME_RE)
  if (b.args === null || typeof b.args !== 'object' || Array.isArray(b.args)) throw new DecodeError('tx.args: expected a JSON object')
  expectJson(b.args, 'tx.args')
  expectString(b.nonce, 'tx.nonce', NONCE_MAX)
  return b
}

export function signTx(body: TxBody, signer: Signer): Tx {
  checkBody(body)
  const tx = assemble(body, signer.sign(txSignBytes(body)))
  if (tx.bytes.byteLength > MAX_TX_BYTES) throw new ValidationError(`transaction is ${tx.bytes.byteLength} bytes, over the limit of ${MAX_TX_BYTES}`)
  return tx
}

/** Structure only (size, canonical form, field types); signature checked by verifyTx. */
export function decodeTx(bytes: Uint8Array): Tx {
  const f = expectArray(decodeCanonical(bytes, MAX_TX_BYTES, 'transaction'), 'transaction', 8)
  expectUint(f[0], 'tx.version')
  if (f[0] !== TX_VERSION) throw new DecodeError(`tx.version: unsupported version ${String(f[0])}`)
  const body = checkBody({
    chainId: f[1] as string,
    signer: f[2] as Uint8Array,
    instance: f[3] as string,
    method: f[4] as string,
    args: f[5] as Record<string, unknown>,
    nonce: f[6] as string,
  })
  return assemble(body, expectBytes(f[7], 'tx.sig', SIGNATURE_BYTES), bytes)
}

/** Throws a ValidationError naming the problem; the chain id check stops cross-chain replay. */
export function verifyTx(tx: Tx, chainId: string): void {
  if (tx.body.chainId !== chainId) throw new ValidationError(`transaction is for chain "${tx.body.chainId}", this is "${chainId}"`)
  if (!verifySignature(tx.body.signer, txSignBytes(tx.body), tx.sig)) throw new ValidationError('transaction signature does not verify')
}
