import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { Ajv, type ErrorObject } from 'ajv'
import { ValidationError, parseGenesis, readKeyFile, type Genesis, type KeyPair } from '@vigil/common'

/**
 * One JSON file per peer (`<home>/config.json`), overridable by VIGIL_* environment
 * variables. Everything is validated at start and a bad value is named, so a typo never
 * becomes a half-started peer.
 */
export interface NodeConfigFile {
  /** Path to genesis.json, relative to the home directory. */
  genesis: string
  /** Path to this peer's key file (ed25519, also its libp2p identity). */
  key: string
  dataDir: string
  /** libp2p listen multiaddrs. */
  listen: string[]
  /** Overrides of other validators' addresses (by validator index), e.g. behind NAT. */
  peers: Record<string, string[]>
  http: { host: string; port: number; maxBodyBytes: number; commitWaitMs: number }
  log: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent' }
  /** Shortest time between two consensus ticks: the core is ticked at its next deadline, no sooner (see ConsensusDriver.startTicks). */
  tickMs: number
  mempool: { maxTxs: number }
}

export interface NodeConfig extends NodeConfigFile {
  home: string
  genesisDoc: Genesis
  keyPair: KeyPair
  /** This peer's validator index in genesis. */
  index: number
}

const DEFAULTS: Omit<NodeConfigFile, 'genesis' | 'key' | 'listen'> = {
  dataDir: 'data',
  peers: {},
  http: { host: '127.0.0.1', port: 8700, maxBodyBytes: 256 * 1024, commitWaitMs: 15_000 },
  log: { level: 'info' },
  tickMs: 1,
  mempool: { maxTxs: 10_000 },
}

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['genesis', 'key', 'listen'],
  properties: {
    genesis: { type: 'string', minLength: 1 },
    key: { type: 'string', minLength: 1 },
    dataDir: { type: 'string', minLength: 1 },
    listen: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^/' } },
    peers: { type: 'object', patternProperties: { '^[0-9]+$': { type: 'array', items: { type: 'string', pattern: '^/' } } }, additionalProperties: false },
    http: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        maxBodyBytes: { type: 'integer', minimum: 1024, maximum: 16 * 1024 * 1024 },
        commitWaitMs: { type: 'integer', minimum: 100, maximum: 600_000 },
      },
    },
    log: { type: 'object', additionalProperties: false, properties: { level: { enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] } } },
    tickMs: { type: 'integer', minimum: 1, maximum: 1000 },
    mempool: { type: 'object', additionalProperties: false, properties: { maxTxs: { type: 'integer', minimum: 1, maximum: 1_000_000 } } },
  },
} as const

const validate = new Ajv({ allErrors: true, strict: true }).compile(schema)

/** VIGIL_* variables and the config field each one sets. */
export const ENV_OVERRIDES: ReadonlyArray<[string, string, (v: string) => unknown]> = [
  ['VIGIL_HTTP_HOST', 'http.host', (v) => v],
  ['VIGIL_HTTP_PORT', 'http.port', Number],
  ['VIGIL_LISTEN', 'listen', (v) => v.split(',').map((s) => s.trim()).filter(Boolean)],
  ['VIGIL_DATA_DIR', 'dataDir', (v) => v],
  ['VIGIL_LOG_LEVEL', 'log.level', (v) => v],
  ['VIGIL_GENESIS', 'genesis', (v) => v],
  ['VIGIL_KEY', 'key', (v) => v],
  ['VIGIL_TICK_MS', 'tickMs', Number],
  ['VIGIL_MEMPOOL_MAX_TXS', 'mempool.maxTxs', Number],
]

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.')
  let o = obj
  for (const p of parts.slice(0, -1)) {
    if (typeof o[p] !== 'object' || o[p] === null) o[p] = {}
    o = o[p] as Record<string, unknown>
  }
  o[parts[parts.length - 1]!] = value
}

function describe(e: ErrorObject): string {
  const field = e.instancePath.replace(/^\//, '').replaceAll('/', '.') || '(top level)'
  if (e.keyword === 'additionalProperties') return `${field === '(top level)' ? '' : field + '.'}${String(e.params.additionalProperty)}: unknown setting`
  if (e.keyword === 'required') return `${String(e.params.missingProperty)}: is required`
  return `${field}: ${e.message ?? 'is invalid'}`
}

/** Validates a parsed config object (file merged with env); errors name every bad field. */
export function parseConfigFile(raw: unknown, env: NodeJS.ProcessEnv = {}): NodeConfigFile {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ValidationError('config: must be a JSON object')
  const merged = structuredClone(raw) as Record<string, unknown>
  for (const [name, path, conv] of ENV_OVERRIDES) {
    const v = env[name]
    if (v !== undefined && v !== '') setPath(merged, path, conv(v))
  }
  if (!validate(merged)) throw new ValidationError(`config: ${(validate.errors ?? []).map(describe).join('; ')}`)
  const m = merged as unknown as Partial<NodeConfigFile> & Pick<NodeConfigFile, 'genesis' | 'key' | 'listen'>
  return {
    ...DEFAULTS,
    ...m,
    http: { ...DEFAULTS.http, ...m.http },
    log: { ...DEFAULTS.log, ...m.log },
    mempool: { ...DEFAULTS.mempool, ...m.mempool },
    peers: m.peers ?? {},
  }
}

function readJson(path: string, what: string): unknown {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ValidationError(`${what} ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new ValidationError(`${what} ${path}: not valid JSON (${(err as Error).message})`)
  }
}

export function readGenesisFile(path: string): Genesis {
  return parseGenesis(readJson(path, 'genesis'))
}

/** Loads `<home>/config.json`, the genesis and the key it names, and finds this peer in genesis. */
export function loadConfig(home: string, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const path = resolve(home, 'config.json')
  const file = parseConfigFile(readJson(path, 'config'), env)
  const rel = (p: string) => (isAbsolute(p) ? p : resolve(dirname(path), p))
  const genesisDoc = readGenesisFile(rel(file.genesis))
  const keyPair = readKeyFile(rel(file.key))
  const index = genesisDoc.validators.findIndex((v) => Buffer.from(v.publicKey).equals(Buffer.from(keyPair.publicKey)))
  if (index < 0) throw new ValidationError(`config: key ${rel(file.key)} is not a validator in genesis ${rel(file.genesis)}`)
  return { ...file, home: resolve(home), dataDir: rel(file.dataDir), genesis: rel(file.genesis), key: rel(file.key), genesisDoc, keyPair, index }
}
