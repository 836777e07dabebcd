import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import { generateKeyPair, networkGuarantee, readKeyFile, writeKeyFile } from '@vigil/common'
import { withMallocEnv } from '@vigil/node/process-memory'
import { ApiClient } from '../client.js'
import { CliError } from '../output.js'
import { initTestnet, readManifest, type TestnetManifest } from '../testnet-layout.js'
import { makeTx, sendTx, type CommittedTx } from '../tx.js'
import { fetchStatus, statusTable } from '../status.js'

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url))
const READY_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 10_000

interface InitOpts {
  dir: string
  nodes: string
  basePort: string
  hosts?: string
  chainId: string
  force: boolean
  logLevel: string
}

const intOpt = (v: string, flag: string) => {
  const n = Number(v)
  if (!Number.isInteger(n)) throw new CliError(`${flag}: "${v}" is not an integer`)
  return n
}

function init(o: InitOpts): Promise<TestnetManifest> {
  return initTestnet({
    dir: o.dir,
    nodes: intOpt(o.nodes, '--nodes'),
    basePort: intOpt(o.basePort, '--base-port'),
    hosts: o.hosts?.split(',').map((s) => s.trim()),
    chainId: o.chainId,
    force: o.force,
    logLevel: o.logLevel,
  })
}

const initOptions = (c: Command) =>
  c
    .requiredOption('--dir <dir>', 'testnet directory')
    .option('--nodes <n>', 'number of validating peers', '4')
    .option('--base-port <port>', 'libp2p ports from here, HTTP ports from here+100; 0 = free ephemeral ports', '8600')
    .option('--hosts <list>', 'one listen address per peer, comma-separated (default 127.0.0.1)')
    .option('--chain-id <id>', 'chain id', 'vigil-testnet')
    .option('--log-level <level>', 'peers log level', 'info')

/** The fault tolerance of n validators, and a warning on stderr where it is none. */
function printGuarantee(n: number): void {
  const g = networkGuarantee(n)
  console.log(`  tolerates ${g.f} Byzantine validator${g.f === 1 ? '' : 's'}; quorum ${g.quorum} of ${n}; commits go on with up to ${g.crashTolerance} down`)
  if (g.warning !== null) console.error(`warning: ${g.warning}`)
}

export function registerTestnetCommands(program: Command): void {
  const tn = program.command('testnet').description('a local testnet of validating peers')
  initOptions(tn.command('init'))
    .description('write genesis.json, a home per peer, admin-key.json and testnet.json')
    .option('--force', 'overwrite an existing testnet', false)
    .action(async (o: InitOpts) => {
      const m = await init(o)
      console.log(`testnet "${m.chainId}" with ${m.nodes.length} peers in ${resolve(o.dir)}`)
      printGuarantee(m.nodes.length)
      for (const n of m.nodes) console.log(`  ${n.name}  api ${n.api}  p2p ${n.p2p.join(' ')}  home ${n.home}`)
    })

  initOptions(tn.command('up'))
    .description('start every peer as its own process (creating the testnet if needed), deploy a sleep study, store and read a record, then show live status until Ctrl-C')
    .option('--no-demo', 'do not deploy the demo instance or store a demo record')
    .action(async (o: InitOpts & { demo: boolean }) => {
      const m = existsSync(join(o.dir, 'testnet.json')) ? readManifest(o.dir) : await init({ ...o, force: false })
      printGuarantee(m.nodes.length)
      const peers = m.nodes.map((n) => startPeer(n.home, join(n.home, 'node.log')))
      let stopping = false
      const stopAll = async () => {
        if (stopping) return
        stopping = true
        console.log('\nstopping peers...')
        await Promise.all(peers.map((p) => stopChild(p)))
        console.log('all peers stopped')
      }
      process.once('SIGINT', () => void stopAll().then(() => process.exit(0)))
      process.once('SIGTERM', () => void stopAll().then(() => process.exit(0)))
      try {
        await waitReady(m, peers)
        console.log(`${m.nodes.length} peers up (logs: ${m.nodes.map((n) => join(n.home, 'node.log')).join(', ')})`)
        for (const n of m.nodes) console.log(`  ${n.name}  ${n.api}`)
        if (o.demo) await demo(m, o.dir)
      } catch (err) {
        await stopAll()
        throw err
      }
      await liveStatus(m)
    })
}

function startPeer(home: string, logFile: string): ChildProcess {
  const out = createWriteStream(logFile, { flags: 'a' })
  // withMallocEnv: glibc reads its settings at process start (see @vigil/node process-memory.ts).
  const child = spawn(process.execPath, [MAIN, 'node', 'start', '--home', home], { stdio: ['ignore', 'pipe', 'pipe'], env: withMallocEnv() })
  child.stdout!.pipe(out)
  child.stderr!.pipe(out)
  return child
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolveStop) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
    child.once('exit', () => {
      clearTimeout(kill)
      resolveStop()
    })
    child.kill('SIGTERM')
  })
}

async function waitReady(m: TestnetManifest, peers: ChildProcess[]): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    const dead = peers.findIndex((p) => p.exitCode !== null)
    if (dead >= 0) throw new CliError(`peer vp${dead} exited with code ${peers[dead]!.exitCode}; see ${join(m.nodes[dead]!.home, 'node.log')}`)
    const ready = await Promise.all(
      m.nodes.map(async (n) => {
        try {
          return (await fetch(`${n.api}/readyz`, { signal: AbortSignal.timeout(1000) })).ok
        } catch {
          return false
        }
      }),
    )
    if (ready.every(Boolean)) return
    if (Date.now() > deadline) throw new CliError(`peers not ready after ${READY_TIMEOUT_MS / 1000} s: ${m.nodes.filter((_, i) => !ready[i]).map((n) => n.name).join(', ')}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** Deploys the "sleepstudy" mhealth instance and stores and reads one synthetic sleep-diary entry. */
async function demo(m: TestnetManifest, dir: string): Promise<void> {
  const admin = readKeyFile(m.adminKey)
  const patientKeyFile = join(resolve(dir), 'patient-key.json')
  if (!existsSync(patientKeyFile)) writeKeyFile(patientKeyFile, generateKeyPair())
  const patient = readKeyFile(patientKeyFile)
  const api = new ApiClient(m.nodes[0]!.api)
  const other = new ApiClient(m.nodes[m.nodes.length - 1]!.api)
  const send = async (key: typeof admin, method: string, instance: string, args: Record<string, unknown>) =>
    (await sendTx(api, makeTx(m.chainId, key, instance, method, args), true)) as CommittedTx

  const dep = await send(admin, 'deploy', '_lifecycle', { name: 'sleepstudy', contract: 'mhealth' })
  if (!dep.result.ok && !String(dep.result.error).includes('exists')) throw new CliError(`demo deploy failed: ${dep.result.error}`)
  console.log(`deploy sleepstudy (mhealth): ${dep.result.ok ? `committed in block ${dep.height}` : dep.result.error}`)
  const reg = await send(patient, 'registerPatient', 'sleepstudy', { patientId: 'P-0001', profile: { studyArm: 'cbt-i', yearOfBirth: 1980 } })
  if (!reg.result.ok && !String(reg.result.error).includes('exists')) throw new CliError(`demo registerPatient failed: ${reg.result.error}`)
  const today = new Date().toISOString().slice(0, 10)
  const entry = { date: today, bedTime: '23:10', sleepOnsetLatencyMin: 25, wakeAfterSleepOnsetMin: 30, wakeTime: '06:40', riseTime: '06:55', sleepQuality: 3, notes: 'demo entry' }
  const app = await send(patient, 'appendEntry', 'sleepstudy', { patientId: 'P-0001', entry })
  if (!app.result.ok) throw new CliError(`demo appendEntry failed: ${app.result.error}`)
  console.log(`sleep-diary entry for P-0001 committed in block ${app.height} (tx ${app.txId})`)
  // The entry committed on vp0; the reading peer may be a moment behind: wait (bounded) until it has that block.
  for (let i = 0; i < 50 && (await other.get<{ height: number }>('/v1/status')).height < app.height; i++) await new Promise((r) => setTimeout(r, 100))
  const read = await other.post<{ value: unknown; height: number }>('/v1/query/sleepstudy/entries', { patientId: 'P-0001' })
  console.log(`read back from ${m.nodes[m.nodes.length - 1]!.name} at height ${read.height}:\n${JSON.stringify(read.value, null, 2)}`)
}

async function liveStatus(m: TestnetManifest): Promise<void> {
  const tty = process.stdout.isTTY
  let shownLines = 0
  for (;;) {
    const rows = await Promise.all(m.nodes.map(async (n) => ({ url: n.api, status: await fetchStatus(n.api) })))
    const text = `${new Date().toISOString()}  (Ctrl-C stops every peer)\n${statusTable(rows)}\n`
    // On a terminal the table is redrawn in place below what was printed before.
    process.stdout.write(tty && shownLines > 0 ? `\x1b[${shownLines}A\x1b[J${text}` : text)
    shownLines = text.split('\n').length - 1
    await new Promise((r) => setTimeout(r, tty ? 1000 : 5000))
  }
}
