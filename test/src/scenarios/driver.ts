import { execFile, execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readKeyFile, type KeyPair } from '@vigil/common'
import { ApiClient, type TestnetManifest } from '@vigil/cli'
import type { Status } from '../cluster.js'

/**
 * What a fault scenario needs from a testnet, whatever runs it (network namespaces or Docker):
 * the scenarios only talk HTTP to the peers and ask the driver to inject faults.
 */
export interface TestnetDriver {
  readonly kind: string
  readonly size: number
  readonly chainId: string
  readonly admin: KeyPair
  api(i: number, timeoutMs?: number): ApiClient
  status(i: number): Promise<Status | null>
  /** Peers in different groups cannot reach each other; peers in no group form one more group. */
  partition(groups: number[][]): Promise<void>
  heal(): Promise<void>
  /** 'kill' is a crash (SIGKILL), 'term' a clean stop. */
  stop(i: number, how: 'kill' | 'term'): Promise<void>
  start(i: number): Promise<void>
  logTail(i: number, lines?: number): Promise<string>
  down(): Promise<void>
}

// Compiled to test/dist/src/scenarios/: the repository root is four levels up.
export const DEPLOY_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'deploy')

/** Runs a deploy/ script; a failure carries its stderr. */
export function runScript(script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 300_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(join(DEPLOY_DIR, script), args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${script} ${args.join(' ')} failed (${err.code ?? err.signal}):\n${stderr.slice(-3000)}`))
      else resolve(stdout)
    })
  })
}

/**
 * A testnet run by one of the deploy/ scripts (netns-testnet.sh, testnet.sh): every fault is
 * the operator's own command, so the tests exercise the scripts too. Brought down (with its
 * files) by down(), and also if the test process exits early.
 */
export class ScriptTestnet implements TestnetDriver {
  private readonly urls: string[]
  private readonly onExit = () => this.downSync()
  private isUp = true

  private constructor(
    readonly kind: string,
    private readonly script: string,
    private readonly env: NodeJS.ProcessEnv,
    readonly manifest: TestnetManifest,
    urls: string,
  ) {
    this.urls = urls.trim().split(',')
    process.once('exit', this.onExit)
  }

  /** `script down --purge` first: a testnet left by a killed earlier run of the same tests would hold the names. */
  static async up(kind: string, script: string, env: NodeJS.ProcessEnv, testnetDir: string, upArgs: string[] = []): Promise<ScriptTestnet> {
    await runScript(script, ['down', '--purge'], env)
    try {
      await runScript(script, ['up', ...upArgs], env, 600_000)
    } catch (err) {
      await runScript(script, ['down', '--purge'], env).catch(() => {})
      throw err
    }
    const manifest = JSON.parse(readFileSync(join(testnetDir, 'testnet.json'), 'utf8')) as TestnetManifest
    return new ScriptTestnet(kind, script, env, manifest, await runScript(script, ['urls'], env))
  }

  get size(): number {
    return this.manifest.nodes.length
  }

  get chainId(): string {
    return this.manifest.chainId
  }

  get admin(): KeyPair {
    return readKeyFile(this.manifest.adminKey)
  }

  api(i: number, timeoutMs = 20_000): ApiClient {
    return new ApiClient(this.urls[i]!, timeoutMs)
  }

  async status(i: number): Promise<Status | null> {
    try {
      return await this.api(i, 2000).get<Status>('/v1/status')
    } catch {
      return null
    }
  }

  async partition(groups: number[][]): Promise<void> {
    await runScript(this.script, ['partition', ...groups.map((g) => g.map((i) => `vp${i}`).join(','))], this.env)
  }

  async heal(): Promise<void> {
    await runScript(this.script, ['heal'], this.env)
  }

  async stop(i: number, how: 'kill' | 'term'): Promise<void> {
    await runScript(this.script, ['stop', `vp${i}`, ...(how === 'kill' ? ['--kill'] : [])], this.env)
  }

  async start(i: number): Promise<void> {
    await runScript(this.script, ['start', `vp${i}`], this.env)
  }

  async logTail(i: number, lines = 30): Promise<string> {
    return runScript(this.script, ['logs', `vp${i}`, String(lines)], this.env).catch((e: Error) => `(no log: ${e.message})`)
  }

  async down(): Promise<void> {
    if (!this.isUp) return
    this.isUp = false
    process.off('exit', this.onExit)
    await runScript(this.script, ['down', '--purge'], this.env)
  }

  private downSync(): void {
    if (!this.isUp) return
    this.isUp = false
    try {
      execFileSync(join(DEPLOY_DIR, this.script), ['down', '--purge'], { env: { ...process.env, ...this.env }, stdio: 'ignore', timeout: 120_000 })
    } catch {
      // Exiting anyway: nothing more can be done here.
    }
  }
}
