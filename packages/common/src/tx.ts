import { decodeCanonical, decodeStrict, encode } from './cbor.js'
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
  /** What the signature covers (and the id hashes): kept so it is built once per transaction. */
  readonly signBytes: Uint8Array
}

export const TX_VERSION = 1
export const MAX_TX_BYTES = 64 * 1024
export const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/
const CHAIN_ID_RE = /^[A-Za-z0-9_.-]{1,64}$/
const NONCE_MAX = 64

function bodyFields(b: TxBody): unknown[] {
  return [b.chainId, b.signer, b.instance, b.method, b.args, b.nonce]
}

const SIGN_DOMAIN = 'vigil/tx/1'

export function txSignBytes(body: TxBody): Uint8Array {
  return encode([SIGN_DOMAIN, ...bodyFields(body)])
}

export function txId(body: TxBody): Uint8Array {
  return sha256(txSignBytes(body))
}

/**
 * The sign bytes cut from a canonical encoding instead of re-encoding the body (measured at
 * about a third of decodeTx's cost): [1, ...fields, sig] and [SIGN_DOMAIN, ...fields] share the
 * fields' bytes; only the array head, the first element and the trailing signature differ.
 */
const SIGN_HEAD = encode([SIGN_DOMAIN, 0, 0, 0, 0, 0, 0]).subarray(0, 2 + SIGN_DOMAIN.length)
const SIG_TAIL_BYTES = 2 + SIGNATURE_BYTES

function signBytesOf(bytes: Uint8Array): Uint8Array {
  const fields = bytes.subarray(2, bytes.byteLength - SIG_TAIL_BYTES)
  const out = new Uint8Array(SIGN_HEAD.byteLength + fields.byteLength)
  out.set(SIGN_HEAD)
  out.set(fields, SIGN_HEAD.byteLength)
  return out
}

function assemble(body: TxBody, sig: Uint8Array, signBytes: Uint8Array, bytes?: Uint8Array): Tx {
  return { body, sig, id: sha256(signBytes), signBytes, bytes: bytes ?? encode([TX_VERSION, ...bodyFields(body), sig]) }
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
  const signBytes = txSignBytes(body)
  const tx = assemble(body, signer.sign(signBytes), signBytes)
  if (tx.bytes.byteLength > MAX_TX_BYTES) throw new ValidationError(`transaction is ${tx.bytes.byteLength} bytes, over the limit of ${MAX_TX_BYTES}`)
  return tx
}

/** Structure only (size, canonical form, field types); signature checked by verifyTx. */
export function decodeTx(bytes: Uint8Array): Tx {
  return txOf(decodeCanonical(bytes, MAX_TX_BYTES, 'transaction'), bytes)
}

/**
 * decodeTx without the re-encoding that proves the encoding canonical, for a transaction of a
 * block whose caller checks every id against the block's certified txRoot (block sync, the
 * audit). The id hashes the bytes as they are (see signBytesOf) and honest peers order only
 * canonical transactions, so another encoding of the same transaction has another id and fails there.
 */
export function decodeTxOfCertifiedBlock(bytes: Uint8Array): Tx {
  return txOf(decodeStrict(bytes, MAX_TX_BYTES, 'transaction'), bytes)
}

function txOf(value: unknown, bytes: Uint8Array): Tx {
  const f = expectArray(value, 'transaction', 8)
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
  // Canonical, with an 8-element array head, version 1 and a 64-byte signature last: the layout signBytesOf cuts.
  return assemble(body, expectBytes(f[7], 'tx.sig', SIGNATURE_BYTES), signBytesOf(bytes), bytes)
}

/** Throws unless the transaction is for this chain: a signature from another chain must not replay here. */
export function checkTxChain(tx: Tx, chainId: string): void {
  if (tx.body.chainId !== chainId) throw new ValidationError(`transaction is for chain "${tx.body.chainId}", this is "${chainId}"`)
}

/** Throws a ValidationError naming the problem. */
export function verifyTx(tx: Tx, chainId: string): void {
  checkTxChain(tx, chainId)
  if (!verifySignature(tx.body.signer, tx.signBytes, tx.sig)) throw new ValidationError('transaction signature does not verify')
}

/**
 * A list of encoded transactions as one CBOR array of byte strings: how peers forward them to
 * each other and how clients submit many at once. Limits are checked before and while decoding.
 */
export function encodeTxList(txs: readonly Uint8Array[]): Uint8Array {
  return encode(txs)
}

export function decodeTxList(bytes: Uint8Array, limits: { maxTxs: number; maxBytes: number }, what: string): Uint8Array[] {
  const arr = expectArray(decodeCanonical(bytes, limits.maxBytes, what), what)
  // No sender has a reason to send none (a client's batch, a gossip frame): an empty list is malformed.
  if (arr.length === 0) throw new DecodeError(`${what}: no transactions`)
  if (arr.length > limits.maxTxs) throw new DecodeError(`${what}: ${arr.length} transactions, limit ${limits.maxTxs}`)
  return arr.map((t, i) => {
    const b = expectBytes(t, `${what}[${i}]`)
    if (b.byteLength > MAX_TX_BYTES) throw new DecodeError(`${what}[${i}]: ${b.byteLength} bytes, limit ${MAX_TX_BYTES}`)
    return b
  })
}
