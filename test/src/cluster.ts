import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { readKeyFile, type ConsensusParams, type KeyPair } from '@vigil/common'
import { ApiClient, initTestnet, makeTx, sendTx, type PeerStatus, type TestnetManifest } from '@vigil/cli'
import { withMallocEnv } from '@vigil/node'

/**
 * A testnet of real `vigil node start` processes on loopback with ephemeral ports and a
 * temporary directory, for end-to-end and fault tests. Every process it starts is killed
 * and the directory removed by destroy(), and also if the test process exits early.
 */
const VIGIL_BIN = join(dirname(createRequire(import.meta.url).resolve('@vigil/cli/package.json')), 'bin', 'vigil.js')
const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL')
})

export interface ClusterOptions {
  nodes?: number
  consensus?: Partial<ConsensusParams>
  logLevel?: string
  /** Extra node flags for every peer process, e.g. ['--cpu-prof'] when profiling a benchmark. */
  nodeArgs?: string[]
  /** Another entry point for some members (node's arguments, given the peer's home), e.g. a Byzantine validator. */
  entry?: Record<number, (home: string) => string[]>
}

export interface Committed {
  txId: string
  height: number
  index: number
  result: { ok: boolean; code: number; error: string | null; ret: unknown }
}

export class Cluster {
  readonly procs: Array<ChildProcess | null>
  readonly admin: KeyPair

  private constructor(
    readonly dir: string,
    readonly manifest: TestnetManifest,
    private readonly nodeArgs: string[],
    private readonly entry: Record<number, (home: string) => string[]>,
  ) {
    this.procs = manifest.nodes.map(() => null)
    this.admin = readKeyFile(manifest.adminKey)
  }

  static async create(o: ClusterOptions = {}): Promise<Cluster> {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-'))
    const manifest = await initTestnet({ dir, nodes: o.nodes ?? 4, basePort: 0, chainId: 'vigil-e2e', consensus: o.consensus, force: false, logLevel: o.logLevel ?? 'info' })
    return new Cluster(dir, manifest, o.nodeArgs ?? [], o.entry ?? {})
  }

  /** Creates a testnet, starts every peer and waits until all are ready; if that fails, stops every peer it started. */
  static async started(o: ClusterOptions = {}): Promise<Cluster> {
    const c = await Cluster.create(o)
    try {
      c.startAll()
      await c.waitReady()
    } catch (err) {
      // The caller never gets the cluster to destroy: peers left running would keep the test process alive.
      await c.destroy()
      throw err
    }
    return c
  }

  get size(): number {
    return this.manifest.nodes.length
  }

  get chainId(): string {
    return this.manifest.chainId
  }

  home(i: number): string {
    return this.manifest.nodes[i]!.home
  }

  logFile(i: number): string {
    return join(this.home(i), 'node.log')
  }

  api(i: number, timeoutMs = 30_000): ApiClient {
    return new ApiClient(this.manifest.nodes[i]!.api, timeoutMs)
  }

  start(i: number): void {
    if (this.procs[i] !== null && this.procs[i]!.exitCode === null && this.procs[i]!.signalCode === null) throw new Error(`vp${i} is already running`)
    const out = createWriteStream(this.logFile(i), { flags: 'a' })
    // The malloc settings operators' peers get (vigil testnet, the Docker image, netns-testnet.sh).
    const args = this.entry[i]?.(this.home(i)) ?? [VIGIL_BIN, 'node', 'start', '--home', this.home(i)]
    const child = spawn(process.execPath, [...this.nodeArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: withMallocEnv() })
    child.stdout.pipe(out)
    child.stderr.pipe(out)
    live.add(child)
    child.once('exit', () => live.delete(child))
    this.procs[i] = child
  }

  startAll(): void {
    for (let i = 0; i < this.size; i++) this.start(i)
  }

  running(i: number): boolean {
    const p = this.procs[i]
    return p !== null && p !== undefined && p.exitCode === null && p.signalCode === null
  }

  /** SIGKILL (a crash) or SIGTERM (a clean stop), and wait for the exit. */
  async stop(i: number, signal: 'SIGKILL' | 'SIGTERM' = 'SIGTERM', timeoutMs = 15_000): Promise<number | null> {
    const p = this.procs[i]
    if (p === null || p === undefined || !this.running(i)) return p?.exitCode ?? null
    const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)))
    p.kill(signal)
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs)
    const code = await exited
    clearTimeout(timer)
    return code
  }

  async destroy(): Promise<void> {
    await Promise.all(this.procs.map((_, i) => this.stop(i, 'SIGKILL')))
    rmSync(this.dir, { recursive: true, force: true })
  }

  logTail(i: number, lines = 30): string {
    try {
      return readFileSync(this.logFile(i), 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
    } catch {
      return '(no log)'
    }
  }

  async status(i: number): Promise<Status | null> {
    try {
      return await this.api(i, 2000).get<Status>('/v1/status')
    } catch {
      return null
    }
  }

  async waitReady(which: number[] = [...Array(this.size).keys()], timeoutMs = 60_000): Promise<void> {
    await waitFor(
      async () => {
        for (const i of which) {
          if (!this.running(i)) throw new Error(`vp${i} exited (code ${this.procs[i]?.exitCode}):\n${this.logTail(i)}`)
        }
        const ok = await Promise.all(which.map(async (i) => (await fetch(`${this.manifest.nodes[i]!.api}/readyz`).catch(() => null))?.ok === true))
        return ok.every(Boolean)
      },
      timeoutMs,
      async () => {
        const why = await Promise.all(
          which.map(async (i) => {
            const r = await fetch(`${this.manifest.nodes[i]!.api}/readyz`).then((x) => x.json() as Promise<{ reason?: string }>, (e: Error) => ({ reason: e.message }))
            return `vp${i}: ${r.reason}\n${this.logTail(i, 12)}`
          }),
        )
        return `not ready:\n${why.join('\n')}`
      },
    )
  }

  /** Signs and submits through peer `via`; waits for the commit when wait is true. */
  async submit(via: number, key: KeyPair, instance: string, method: string, args: Record<string, unknown>, wait = true): Promise<Committed> {
    return (await sendTx(this.api(via), makeTx(this.chainId, key, instance, method, args), wait)) as Committed
  }

  async deploy(via: number, name: string, contract: 'kv' | 'mhealth'): Promise<Committed> {
    const r = await this.submit(via, this.admin, '_lifecycle', 'deploy', { name, contract })
    if (!r.result.ok) throw new Error(`deploy ${name} failed: ${r.result.error}`)
    return r
  }

  /** Waits until every listed peer reports at least `height`. */
  async waitHeight(height: number, which: number[] = [...Array(this.size).keys()], timeoutMs = 60_000): Promise<void> {
    await waitFor(
      async () => (await Promise.all(which.map((i) => this.status(i)))).every((s) => s !== null && s.height >= height),
      timeoutMs,
      async () => `height ${height} not reached: ${JSON.stringify(await Promise.all(which.map(async (i) => ({ vp: i, height: (await this.status(i))?.height }))))}`,
    )
  }
}

export type Status = PeerStatus

/** Polls `cond` until true; fails with `message()` after `timeoutMs`. Never hangs. */
export async function waitFor(cond: () => Promise<boolean>, timeoutMs: number, message: () => string | Promise<string>, pollMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await cond()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${await message()}`)
    await new Promise((r) => setTimeout(r, pollMs))
  }
}
