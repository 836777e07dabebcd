import { fromHex, toHex } from './bytes.js'
import { encode } from './cbor.js'
import { ValidationError } from './errors.js'
import { sha256 } from './hash.js'
import { PUBLIC_KEY_BYTES } from './keys.js'
import { MAX_CONSENSUS_FRAME_BYTES, maxConsensusMessageBytes } from './consensus-bounds.js'
import { faultTolerance, quorumSize } from './quorum.js'

/** PBFT parameters, fixed for the chain in genesis so every peer runs the same protocol. */
export interface ConsensusParams {
  /** Most requests in one batch (= block). */
  batchMaxCount: number
  /** Most request bytes in one batch. */
  batchMaxBytes: number
  /** A non-full batch is proposed after this long. */
  batchTimeoutMs: number
  /** K: a checkpoint every K sequence numbers. */
  checkpointInterval: number
  /** L: high watermark = low watermark + L. */
  watermarkWindow: number
  /** Base view-change timeout; doubles on each failed view. */
  viewChangeTimeoutMs: number
  /** How far a batch time may lie ahead of a backup's clock. */
  maxClockSkewMs: number
}

export interface ValidatorInfo {
  index: number
  name: string
  publicKey: Uint8Array
  /** libp2p peer id derived from publicKey (checked by the node). */
  peerId: string
  addresses: string[]
}

/**
 * The ledger rules a chain was made under. 2: a transaction's id hashes its whole encoding,
 * signature included (format version 2), and batch digests are tagged 'vigil/batch/2', so a
 * commit certificate binds the exact bytes executed. 1: the id hashed the body alone; such chains
 * are still audited under their own rules, never extended (docs/design.md, "Compatibility").
 */
export const LEDGER_PROTOCOL = 2
export type LedgerProtocol = 1 | 2

export interface Genesis {
  chainId: string
  /** Absent from a genesis file written before protocol 2, which means 1. */
  protocol: LedgerProtocol
  /** Milliseconds since the epoch: block 0's time. */
  genesisTime: number
  validators: ValidatorInfo[]
  /** Client public keys allowed to deploy contract instances. */
  admins: Uint8Array[]
  consensus: ConsensusParams
}

export const DEFAULT_CONSENSUS: ConsensusParams = {
  batchMaxCount: 500,
  batchMaxBytes: 4 * 1024 * 1024,
  batchTimeoutMs: 5,
  checkpointInterval: 10,
  watermarkWindow: 40,
  viewChangeTimeoutMs: 1000,
  maxClockSkewMs: 5000,
}

export { faultTolerance, quorumSize } from './quorum.js'


/**
 * What a network of n validators promises, for operators: f Byzantine validators tolerated,
 * the quorum, how many may be down with commits going on, and a warning where f = 0.
 */
export function networkGuarantee(n: number): { f: number; quorum: number; crashTolerance: number; warning: string | null } {
  const f = faultTolerance(n)
  const quorum = quorumSize(n)
  const crashTolerance = n - quorum
  const warning = f > 0 ? null : `${n} validator${n === 1 ? '' : 's'} tolerate no Byzantine validator: ordering stays safe only while every validator is honest (one that lies can fork the ledger), and ${crashTolerance === 0 ? 'no validator may be down' : `${crashTolerance} may be down`}; use at least 4 for Byzantine fault tolerance`
  return { f, quorum, crashTolerance, warning }
}

/** The largest batchMaxBytes genesis accepts: a batch and its message's heads and certificate fit a 16 MiB buffer. */
export const MAX_BATCH_MAX_BYTES = 16 * 1024 * 1024 - 65_536

const CHAIN_ID_RE = /^[A-Za-z0-9_.-]{1,64}$/

function fail(field: string, msg: string): never {
  throw new ValidationError(`genesis.${field}: ${msg}`)
}

function intIn(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) fail(field, `must be an integer in ${min}..${max}`)
  return v
}

function key(v: unknown, field: string): Uint8Array {
  try {
    const k = fromHex(v as string, field)
    if (k.byteLength !== PUBLIC_KEY_BYTES) throw new Error('not 32 bytes')
    return k
  } catch {
    return fail(field, 'must be a 32-byte ed25519 public key in hex')
  }
}

/** Validates parsed genesis JSON; every error names the field. */
export function parseGenesis(json: unknown): Genesis {
  if (json === null || typeof json !== 'object') fail('', 'must be a JSON object')
  const g = json as Record<string, unknown>
  if (typeof g.chainId !== 'string' || !CHAIN_ID_RE.test(g.chainId)) fail('chainId', 'must be 1-64 characters of A-Z a-z 0-9 _ . -')
  const time = typeof g.genesisTime === 'string' ? Date.parse(g.genesisTime) : NaN
  if (!Number.isFinite(time) || time < 0) fail('genesisTime', 'must be an ISO 8601 date-time')
  if (!Array.isArray(g.validators) || g.validators.length < 1 || g.validators.length > 64) fail('validators', 'must list 1 to 64 validators')
  const validators = (g.validators as unknown[]).map((v, i): ValidatorInfo => {
    const o = (v ?? {}) as Record<string, unknown>
    const f = `validators[${i}]`
    if (o.index !== i) fail(`${f}.index`, `must be ${i} (validators are listed in index order)`)
    if (typeof o.name !== 'string' || o.name.length === 0 || o.name.length > 64) fail(`${f}.name`, 'must be a non-empty string')
    if (typeof o.peerId !== 'string' || o.peerId.length === 0 || o.peerId.length > 128) fail(`${f}.peerId`, 'must be a libp2p peer id')
    if (!Array.isArray(o.addresses) || !o.addresses.every((a) => typeof a === 'string' && a.startsWith('/'))) fail(`${f}.addresses`, 'must be a list of multiaddrs')
    return { index: i, name: o.name, publicKey: key(o.publicKey, `${f}.publicKey`), peerId: o.peerId, addresses: o.addresses as string[] }
  })
  const seen = new Set<string>()
  for (const v of validators) {
    const k = toHex(v.publicKey)
    if (seen.has(k)) fail(`validators[${v.index}].publicKey`, 'is listed twice')
    seen.add(k)
  }
  if (!Array.isArray(g.admins)) fail('admins', 'must be a list of public keys')
  const admins = (g.admins as unknown[]).map((a, i) => key(a, `admins[${i}]`))
  if (g.protocol !== undefined && g.protocol !== 1 && g.protocol !== 2) fail('protocol', 'must be 1 or 2')
  const protocol: LedgerProtocol = g.protocol === 2 ? 2 : 1
  const c = (g.consensus ?? {}) as Record<string, unknown>
  const p = { ...DEFAULT_CONSENSUS }
  const params: Array<[keyof ConsensusParams, number, number]> = [
    ['batchMaxCount', 1, 10_000],
    ['batchMaxBytes', 1024, MAX_BATCH_MAX_BYTES],
    ['batchTimeoutMs', 1, 60_000],
    ['checkpointInterval', 1, 10_000],
    ['watermarkWindow', 2, 100_000],
    ['viewChangeTimeoutMs', 10, 600_000],
    ['maxClockSkewMs', 0, 3_600_000],
  ]
  for (const [name, min, max] of params) if (c[name] !== undefined) p[name] = intIn(c[name], `consensus.${name}`, min, max)
  if (p.watermarkWindow < 2 * p.checkpointInterval) fail('consensus.watermarkWindow', 'must be at least twice checkpointInterval')
  // A VIEW-CHANGE or NEW-VIEW over the frame limit would be dropped by every peer, and the view change never complete.
  const largest = maxConsensusMessageBytes(validators.length, p)
  if (largest > MAX_CONSENSUS_FRAME_BYTES) {
    fail('consensus.watermarkWindow', `with ${validators.length} validators, a NEW-VIEW could reach ${largest} bytes, over the ${MAX_CONSENSUS_FRAME_BYTES}-byte frame limit: lower watermarkWindow`)
  }
  return { chainId: g.chainId as string, protocol, genesisTime: time, validators, admins, consensus: p }
}

/** The JSON form written to genesis.json (the inverse of parseGenesis). */
export function genesisJson(g: Genesis): Record<string, unknown> {
  return {
    chainId: g.chainId,
    // A protocol-1 file stays as it was written, so its hash does too.
    ...(g.protocol === 1 ? {} : { protocol: g.protocol }),
    genesisTime: new Date(g.genesisTime).toISOString(),
    validators: g.validators.map((v) => ({ index: v.index, name: v.name, publicKey: toHex(v.publicKey), peerId: v.peerId, addresses: v.addresses })),
    admins: g.admins.map(toHex),
    consensus: g.consensus,
  }
}

/** Identifies the validator set inside everything validators sign. */
export function validatorsHash(validators: readonly ValidatorInfo[]): Uint8Array {
  return sha256(encode(['vigil/validators/1', validators.map((v) => [v.index, v.publicKey])]))
}

/** Canonical hash of the whole genesis; block 0's batch digest. */
export function genesisHash(g: Genesis): Uint8Array {
  const p = g.consensus
  return sha256(
    encode([
      'vigil/genesis/1',
      // Protocol 1 genesis hashes are kept as they were; from 2 on the rules are part of the hash.
      ...(g.protocol === 1 ? [] : [g.protocol]),
      g.chainId,
      g.genesisTime,
      g.validators.map((v) => [v.index, v.name, v.publicKey, v.peerId]),
      g.admins,
      [p.batchMaxCount, p.batchMaxBytes, p.batchTimeoutMs, p.checkpointInterval, p.watermarkWindow, p.viewChangeTimeoutMs, p.maxClockSkewMs],
    ]),
  )
}
