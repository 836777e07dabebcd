import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { DEFAULT_CONSENSUS, LEDGER_PROTOCOL, ValidationError, generateKeyPair, genesisJson, writeKeyFile, type ConsensusParams, type Genesis } from '@vigil/common'
import { freePort } from '@vigil/node/free-port'

/** testnet.json: where each peer of a local testnet lives, for scripts and tools. */
export interface TestnetManifest {
  chainId: string
  genesis: string
  adminKey: string
  nodes: Array<{ index: number; name: string; home: string; api: string; p2p: string[] }>
}

export interface TestnetInitOptions {
  dir: string
  nodes: number
  /** First port; 0 picks free ephemeral ports (tests). */
  basePort: number
  /** One host address per peer (netns testnets); default 127.0.0.1 for all. */
  hosts?: string[]
  chainId: string
  consensus?: Partial<ConsensusParams>
  force: boolean
  logLevel: string
}

export async function initTestnet(o: TestnetInitOptions): Promise<TestnetManifest> {
  const dir = resolve(o.dir)
  if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > 64) throw new ValidationError('--nodes: must be an integer from 1 to 64')
  if (!Number.isInteger(o.basePort) || o.basePort < 0 || o.basePort > 65535 - 2 * o.nodes - 100) throw new ValidationError('--base-port: must be 0 (free ports) or a port leaving room for every peer')
  if (o.hosts !== undefined && o.hosts.length !== o.nodes) throw new ValidationError(`--hosts: ${o.hosts.length} hosts given for ${o.nodes} nodes`)
  const manifestPath = join(dir, 'testnet.json')
  if (existsSync(manifestPath) || existsSync(join(dir, 'genesis.json'))) {
    if (!o.force) throw new ValidationError(`${dir} already holds a testnet (use --force to overwrite it)`)
    for (let i = 0; i < 64; i++) rmSync(join(dir, `vp${i}`), { recursive: true, force: true })
    for (const f of ['genesis.json', 'testnet.json', 'admin-key.json']) rmSync(join(dir, f), { force: true })
  }
  mkdirSync(dir, { recursive: true })

  const hostOf = (i: number) => o.hosts?.[i] ?? '127.0.0.1'
  const ports: Array<{ p2p: number; http: number }> = []
  for (let i = 0; i < o.nodes; i++) {
    ports.push(o.basePort === 0 ? { p2p: await freePort(hostOf(i)), http: await freePort(hostOf(i)) } : { p2p: o.basePort + i, http: o.basePort + 100 + i })
  }
  // libp2p's key code, for the peer ids: loaded only when a testnet is written.
  const { peerIdFromPublicKey } = await import('@vigil/node/identity')
  const keys = Array.from({ length: o.nodes }, () => generateKeyPair())
  const admin = generateKeyPair()
  const genesis: Genesis = {
    chainId: o.chainId,
    protocol: LEDGER_PROTOCOL,
    genesisTime: Date.now(),
    validators: keys.map((k, i) => ({
      index: i,
      name: `vp${i}`,
      publicKey: k.publicKey,
      peerId: peerIdFromPublicKey(k.publicKey),
      addresses: [`/ip4/${hostOf(i)}/tcp/${ports[i]!.p2p}`],
    })),
    admins: [admin.publicKey],
    consensus: { ...DEFAULT_CONSENSUS, ...o.consensus },
  }
  writeFileSync(join(dir, 'genesis.json'), JSON.stringify(genesisJson(genesis), null, 2) + '\n')
  writeKeyFile(join(dir, 'admin-key.json'), admin, true)

  const manifest: TestnetManifest = { chainId: o.chainId, genesis: join(dir, 'genesis.json'), adminKey: join(dir, 'admin-key.json'), nodes: [] }
  keys.forEach((k, i) => {
    const home = join(dir, `vp${i}`)
    mkdirSync(home, { recursive: true })
    writeKeyFile(join(home, 'node-key.json'), k, true)
    const config = {
      genesis: '../genesis.json',
      key: 'node-key.json',
      dataDir: 'data',
      listen: genesis.validators[i]!.addresses,
      http: { host: hostOf(i), port: ports[i]!.http },
      log: { level: o.logLevel },
    }
    writeFileSync(join(home, 'config.json'), JSON.stringify(config, null, 2) + '\n')
    manifest.nodes.push({ index: i, name: `vp${i}`, home, api: `http://${hostOf(i)}:${ports[i]!.http}`, p2p: genesis.validators[i]!.addresses })
  })
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n')
  return manifest
}

export function readManifest(dir: string): TestnetManifest {
  const path = join(resolve(dir), 'testnet.json')
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as TestnetManifest
  } catch (err) {
    throw new ValidationError(`${path}: ${(err as Error).message} (create it with: vigil testnet init --dir ${dir})`)
  }
}
