import { decodeCanonical, decodeStrict, encode } from './cbor.js'
import { expectArray, expectBytes, expectJson, expectString, expectUint } from './check.js'
import { DecodeError, ValidationError } from './errors.js'
import { sha256 } from './hash.js'
import type { LedgerProtocol } from './genesis.js'
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, Signer, verifySignature } from './keys.js'

/**
 * A transaction: a signed envelope asking contract instance `instance` to run `method`
 * with named JSON `args`. The signature covers every field, chain id included, so a
 * transaction cannot be replayed on another chain. Its id (format version 2) is the hash of its
 * whole canonical encoding, signature included: whatever certifies an id certifies the exact
 * bytes every peer executes. The signer and nonce make it unique: execution refuses a second
 * transaction of a signer with a used nonce, however it is signed.
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
  /** Format version: 2, or 1 in chains made under ledger protocol 1 (read for audits only). */
  readonly version: TxVersion
  readonly body: TxBody
  readonly sig: Uint8Array
  /** sha256 of `bytes` (version 2); of `signBytes` in version 1, whose id left the signature out. */
  readonly id: Uint8Array
  /** The canonical encoding, exactly as carried in blocks. */
  readonly bytes: Uint8Array
  /** What the signature covers: kept so it is built once per transaction. */
  readonly signBytes: Uint8Array
}

export type TxVersion = 1 | 2
export const TX_VERSION: TxVersion = 2
/** The transaction format of the chains made under each ledger protocol. */
export const txVersionOf = (protocol: LedgerProtocol): TxVersion => protocol
export const MAX_TX_BYTES = 64 * 1024
export const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/
const CHAIN_ID_RE = /^[A-Za-z0-9_.-]{1,64}$/
const NONCE_MAX = 64

function bodyFields(b: TxBody): unknown[] {
  return [b.chainId, b.signer, b.instance, b.method, b.args, b.nonce]
}

/** Each format signs under its own tag, so a signature made for one cannot be re-wrapped as the other. */
const SIGN_DOMAIN = { 1: 'vigil/tx/1', 2: 'vigil/tx/2' } as const

export function txSignBytes(body: TxBody, version: TxVersion = TX_VERSION): Uint8Array {
  return encode([SIGN_DOMAIN[version], ...bodyFields(body)])
}

/**
 * The sign bytes cut from a canonical encoding instead of re-encoding the body (measured at
 * about a third of decodeTx's cost): [1, ...fields, sig] and [SIGN_DOMAIN, ...fields] share the
 * fields' bytes; only the array head, the first element and the trailing signature differ.
 */
const signHead = (v: TxVersion): Uint8Array => encode([SIGN_DOMAIN[v], 0, 0, 0, 0, 0, 0]).subarray(0, 2 + SIGN_DOMAIN[v].length)
const SIGN_HEAD = { 1: signHead(1), 2: signHead(2) } as const
const SIG_TAIL_BYTES = 2 + SIGNATURE_BYTES

function signBytesOf(bytes: Uint8Array, version: TxVersion): Uint8Array {
  const head = SIGN_HEAD[version]
  const fields = bytes.subarray(2, bytes.byteLength - SIG_TAIL_BYTES)
  const out = new Uint8Array(head.byteLength + fields.byteLength)
  out.set(head)
  out.set(fields, head.byteLength)
  return out
}

function assemble(version: TxVersion, body: TxBody, sig: Uint8Array, signBytes: Uint8Array, bytes?: Uint8Array): Tx {
  const encoded = bytes ?? encode([version, ...bodyFields(body), sig])
  return { version, body, sig, id: sha256(version === 1 ? signBytes : encoded), signBytes, bytes: encoded }
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
  const tx = assemble(TX_VERSION, body, signer.sign(signBytes), signBytes)
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
  if (f[0] !== 1 && f[0] !== 2) throw new DecodeError(`tx.version: unsupported version ${String(f[0])}`)
  const version: TxVersion = f[0]
  const body = checkBody({
    chainId: f[1] as string,
    signer: f[2] as Uint8Array,
    instance: f[3] as string,
    method: f[4] as string,
    args: f[5] as Record<string, unknown>,
    nonce: f[6] as string,
  })
  // Canonical, with an 8-element array head, a one-byte version and a 64-byte signature last: the layout signBytesOf cuts.
  return assemble(version, body, expectBytes(f[7], 'tx.sig', SIGNATURE_BYTES), signBytesOf(bytes, version), bytes)
}

/** Throws unless the transaction is for this chain: a signature from another chain must not replay here. */
export function checkTxChain(tx: Tx, chainId: string): void {
  if (tx.body.chainId !== chainId) throw new ValidationError(`transaction is for chain "${tx.body.chainId}", this is "${chainId}"`)
}

/** Throws unless the transaction has the format of the chain's ledger protocol. */
export function checkTxVersion(tx: Tx, version: TxVersion = TX_VERSION): void {
  if (tx.version !== version) throw new ValidationError(`transaction format version ${tx.version} is not accepted on this chain, which takes version ${version}`)
}

/** Throws a ValidationError naming the problem. */
export function verifyTx(tx: Tx, chainId: string, version: TxVersion = TX_VERSION): void {
  checkTxVersion(tx, version)
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
