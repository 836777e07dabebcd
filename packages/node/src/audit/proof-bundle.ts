import {
  HASH_BYTES, NAME_RE, SIGNATURE_BYTES, ValidationError, batchDigest, decodeCanonical, equalBytes, fromHex, headerHash, quorumSize, toHex,
  validatorsHash, verifyCommitCertificate, type BlockHeader, type CommitCertificate, type Genesis,
} from '@vigil/common'
import { certificateJson } from '../api/json.js'
import { stateProofFromJson, stateProofToJson, verifyStateProof, type StateProof, type StateProofJson } from '@vigil/storage/proof'

/**
 * Self-contained proof bundles: "this value is (or is not) in the ledger's state", checkable
 * offline with nothing but genesis.json. No I/O here, so tests and the CLI share one verifier.
 *
 * What makes it sound (docs/design.md): block h+1's commit certificate signs
 * batchDigest(time, parent = hash(header h), txRoot); header h carries the state root after
 * block h; the Merkle proof links the value (and the version it was written at) to that root.
 * So a quorum of genesis validators vouches for the value through h+1's signatures.
 *
 * Every field of a bundle is either checked cryptographically or must agree with one that is,
 * unknown fields are refused, and the file must be in the canonical form bundleText writes:
 * any change to any byte fails. (Dropping one signature beyond the quorum needed is the one
 * edit that leaves a valid bundle: the remaining quorum still proves the same thing.)
 */
export const BUNDLE_FORMAT = 'vigil-proof/1'
const MAX_BUNDLE_VALUE_BYTES = 1 << 20

export interface HeaderJson {
  hash: string
  chainId: string
  height: number
  prevHash: string
  time: string
  timeMs: number
  txRoot: string
  resultsRoot: string
  stateRoot: string
  batchDigest: string
  validatorsHash: string
}

export interface CertificateJson {
  view: number
  seq: number
  digest: string
  sigs: Array<{ replica: number; sig: string }>
}

/** Block h+1's part of the proof: what its certificate signed besides hash(header h). */
export interface CertificationJson {
  height: number
  timeMs: number
  txRoot: string
  certificate: CertificateJson
}

export interface ProofBundle {
  format: typeof BUNDLE_FORMAT
  chainId: string
  /** Fingerprint of the genesis validator set the certificate must come from. */
  validatorsHash: string
  instance: string
  key: string
  /** The value as JSON (null: the key is absent) and its exact stored encoding. */
  value: unknown
  valueCbor: string | null
  proof: StateProofJson
  header: HeaderJson
  certifiedBy: CertificationJson
}

/** What a verified bundle proves. */
export interface BundleFacts {
  instance: string
  key: string
  value: unknown
  /** Where the value was written (null for an absence proof). */
  written: { height: number; index: number } | null
  /** The state it is proven in, and the block whose certificate vouches for it. */
  provenAt: number
  certifiedBy: number
  time: string
  signers: string[]
}

const fail = (field: string, msg: string): never => {
  throw new ValidationError(`bundle.${field}: ${msg}`)
}

function record(v: unknown, field: string, keys: readonly string[]): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(field, 'must be an object')
  const o = v as Record<string, unknown>
  const extra = Object.keys(o).filter((k) => !keys.includes(k))
  if (extra.length > 0) fail(field, `unknown field "${extra[0]}"`)
  for (const k of keys) if (!(k in o)) fail(`${field}.${k}`, 'is missing')
  return o
}

function uint(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(field, 'must be a non-negative integer')
  return v as number
}

function str(v: unknown, field: string, max = 256): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) fail(field, `must be a string of 1-${max} characters`)
  return v as string
}

function hex(v: unknown, field: string, bytes?: number): Uint8Array {
  if (typeof v !== 'string' || !/^([0-9a-f]{2})*$/.test(v)) fail(field, 'must be lower-case hex')
  const b = fromHex(v as string, field)
  if (bytes !== undefined && b.byteLength !== bytes) fail(field, `must be ${bytes} bytes`)
  return b
}

const HEADER_KEYS = ['hash', 'chainId', 'height', 'prevHash', 'time', 'timeMs', 'txRoot', 'resultsRoot', 'stateRoot', 'batchDigest', 'validatorsHash'] as const

function parseHeader(v: unknown): BlockHeader {
  const o = record(v, 'header', HEADER_KEYS)
  const timeMs = uint(o.timeMs, 'header.timeMs')
  if (o.time !== new Date(timeMs).toISOString()) fail('header.time', 'does not match header.timeMs')
  const header: BlockHeader = {
    chainId: str(o.chainId, 'header.chainId', 64),
    height: uint(o.height, 'header.height'),
    prevHash: hex(o.prevHash, 'header.prevHash', HASH_BYTES),
    time: timeMs,
    txRoot: hex(o.txRoot, 'header.txRoot', HASH_BYTES),
    resultsRoot: hex(o.resultsRoot, 'header.resultsRoot', HASH_BYTES),
    stateRoot: hex(o.stateRoot, 'header.stateRoot', HASH_BYTES),
    batchDigest: hex(o.batchDigest, 'header.batchDigest', HASH_BYTES),
    validatorsHash: hex(o.validatorsHash, 'header.validatorsHash', HASH_BYTES),
  }
  if (!equalBytes(hex(o.hash, 'header.hash', HASH_BYTES), headerHash(header))) fail('header.hash', 'is not the hash of the header')
  return header
}

function parseCertificate(v: unknown): CommitCertificate {
  const o = record(v, 'certifiedBy.certificate', ['view', 'seq', 'digest', 'sigs'])
  if (!Array.isArray(o.sigs) || o.sigs.length > 1024) fail('certifiedBy.certificate.sigs', 'must be a list')
  return {
    view: uint(o.view, 'certifiedBy.certificate.view'),
    seq: uint(o.seq, 'certifiedBy.certificate.seq'),
    digest: hex(o.digest, 'certifiedBy.certificate.digest', HASH_BYTES),
    sigs: (o.sigs as unknown[]).map((s, i) => {
      const f = `certifiedBy.certificate.sigs[${i}]`
      const so = record(s, f, ['replica', 'sig'])
      return { replica: uint(so.replica, `${f}.replica`), sig: hex(so.sig, `${f}.sig`, SIGNATURE_BYTES) }
    }),
  }
}

interface Parsed {
  bundle: ProofBundle
  header: BlockHeader
  cert: CommitCertificate
  certTime: number
  certTxRoot: Uint8Array
  valueBytes: Uint8Array | null
  proof: StateProof
}

/** Shape of untrusted bundle JSON; returns it in canonical form with its decoded parts. */
function parseBundle(json: unknown): Parsed {
  const o = record(json, '(top level)', ['format', 'chainId', 'validatorsHash', 'instance', 'key', 'value', 'valueCbor', 'proof', 'header', 'certifiedBy'])
  if (o.format !== BUNDLE_FORMAT) fail('format', `must be "${BUNDLE_FORMAT}"`)
  const instance = str(o.instance, 'instance', 64)
  if (!NAME_RE.test(instance)) fail('instance', 'is not an instance name')
  const key = str(o.key, 'key')
  let valueBytes: Uint8Array | null = null
  if (o.valueCbor !== null) {
    valueBytes = hex(o.valueCbor, 'valueCbor')
    if (valueBytes.byteLength > MAX_BUNDLE_VALUE_BYTES) fail('valueCbor', 'is too large')
    let decoded: unknown
    try {
      decoded = decodeCanonical(valueBytes, MAX_BUNDLE_VALUE_BYTES, 'value')
    } catch (err) {
      fail('valueCbor', (err as Error).message)
    }
    if (JSON.stringify(decoded) !== JSON.stringify(o.value)) fail('value', 'does not match valueCbor')
  } else if (o.value !== null) fail('value', 'must be null when valueCbor is null')
  let proof: StateProof
  try {
    proof = stateProofFromJson(o.proof)
  } catch (err) {
    return fail('proof', (err as Error).message)
  }
  const header = parseHeader(o.header)
  const c = record(o.certifiedBy, 'certifiedBy', ['height', 'timeMs', 'txRoot', 'certificate'])
  const certTime = uint(c.timeMs, 'certifiedBy.timeMs')
  const certTxRoot = hex(c.txRoot, 'certifiedBy.txRoot', HASH_BYTES)
  const cert = parseCertificate(c.certificate)
  const bundle: ProofBundle = {
    format: BUNDLE_FORMAT,
    chainId: str(o.chainId, 'chainId', 64),
    validatorsHash: toHex(hex(o.validatorsHash, 'validatorsHash', HASH_BYTES)),
    instance,
    key,
    value: o.value,
    valueCbor: valueBytes === null ? null : toHex(valueBytes),
    proof: stateProofToJson(proof),
    header: Object.fromEntries(HEADER_KEYS.map((k) => [k, (o.header as Record<string, unknown>)[k]])) as unknown as HeaderJson,
    certifiedBy: { height: uint(c.height, 'certifiedBy.height'), timeMs: certTime, txRoot: toHex(certTxRoot), certificate: certificateJson(cert) },
  }
  return { bundle, header, cert, certTime, certTxRoot, valueBytes, proof }
}

/**
 * Checks a bundle against a genesis: chain and validator set, header hash, block h+1's
 * certificate (a quorum of distinct genesis validators over (view, h+1, batchDigest(time, hash(header h),
 * txRoot))), and the Merkle path from the value to header h's state root. Throws a
 * ValidationError with the reason; returns what the bundle proves.
 */
export function verifyBundle(json: unknown, genesis: Genesis): BundleFacts {
  const { bundle, header, cert, certTime, certTxRoot, valueBytes, proof } = parseBundle(json)
  const vh = validatorsHash(genesis.validators)
  if (bundle.chainId !== genesis.chainId) fail('chainId', `is "${bundle.chainId}", the genesis is for "${genesis.chainId}"`)
  if (header.chainId !== genesis.chainId) fail('header.chainId', `is "${header.chainId}", the genesis is for "${genesis.chainId}"`)
  if (bundle.validatorsHash !== toHex(vh)) fail('validatorsHash', "is not the genesis validator set's")
  if (!equalBytes(header.validatorsHash, vh)) fail('header.validatorsHash', "is not the genesis validator set's")
  const h1 = bundle.certifiedBy.height
  if (h1 !== header.height + 1) fail('certifiedBy.height', `is ${h1}, must be header.height + 1 = ${header.height + 1}`)
  if (cert.seq !== h1) fail('certifiedBy.certificate.seq', `is ${cert.seq}, must be ${h1}`)
  const digest = batchDigest(certTime, headerHash(header), certTxRoot, genesis.protocol)
  if (!equalBytes(cert.digest, digest)) fail('certifiedBy.certificate.digest', `is not batchDigest(time, hash(header ${header.height}), txRoot) of block ${h1}`)
  try {
    verifyCommitCertificate(cert, { chainId: genesis.chainId, validatorsHash: vh }, genesis.validators.map((v) => v.publicKey), quorumSize(genesis.validators.length))
  } catch (err) {
    fail('certifiedBy.certificate', (err as Error).message)
  }
  if (!verifyStateProof(header.stateRoot, bundle.instance, bundle.key, valueBytes, proof)) {
    fail('proof', `does not link ${bundle.instance}/${bundle.key} ${valueBytes === null ? '(absent)' : 'and its value'} to the state root of block ${header.height}`)
  }
  const t = proof.terminal
  return {
    instance: bundle.instance,
    key: bundle.key,
    value: bundle.value,
    written: t.kind === 'member' ? { height: t.height, index: t.index } : null,
    provenAt: header.height,
    certifiedBy: h1,
    time: new Date(certTime).toISOString(),
    signers: cert.sigs.map((s) => genesis.validators[s.replica]!.name),
  }
}

/** The canonical text of a bundle (what `vigil prove` writes). */
export function bundleText(json: unknown): string {
  return JSON.stringify(parseBundle(json).bundle, null, 2) + '\n'
}

/** Verifies a bundle file's text: valid JSON, canonical form (so no byte can change unnoticed), then verifyBundle. */
export function verifyBundleText(text: string, genesis: Genesis): BundleFacts {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ValidationError(`bundle: not valid JSON (${(err as Error).message})`)
  }
  const facts = verifyBundle(json, genesis)
  if (bundleText(json) !== text) throw new ValidationError('bundle: not in canonical form (fields reordered, reformatted or edited)')
  return facts
}

/**
 * Builds a bundle from the answer of GET /v1/state/:instance/:key?proof=true; checks its shape
 * (not its signatures: that is check-proof's job, against a genesis the user trusts).
 */
export function buildBundle(instance: string, key: string, answer: unknown): ProofBundle {
  const a = (answer ?? {}) as Record<string, unknown>
  return parseBundle({
    format: BUNDLE_FORMAT,
    chainId: a.chainId,
    validatorsHash: a.validatorsHash,
    instance,
    key,
    value: a.value,
    valueCbor: a.valueCbor,
    proof: a.proof,
    header: a.header,
    certifiedBy: a.certifiedBy,
  }).bundle
}

/** One human line, e.g. "patient P-17 entry 2026-11-20 is committed in block 812, signed by vp0, vp2, vp3". */
export function describeFacts(f: BundleFacts): string {
  const signed = `signed by ${f.signers.join(', ')}`
  const proven = `state of block ${f.provenAt}, certified by block ${f.certifiedBy} at ${f.time}`
  if (f.written === null) return `${f.instance}/${f.key} is absent from the ${proven}, ${signed}`
  const entry = /^entry\/(.+)\/(\d{9})$/.exec(f.key)
  const date = (f.value as { date?: unknown } | null)?.date
  const what = entry !== null && typeof date === 'string' ? `patient ${entry[1]} entry ${date} (#${Number(entry[2])})` : `${f.instance}/${f.key} = ${JSON.stringify(f.value)}`
  return `${what} is committed in block ${f.written.height} (transaction ${f.written.index}; proven in the ${proven}), ${signed}`
}
