/**
 * `pnpm bench` (cluster part): what Vigil does on this machine beside what the machine can do,
 * both measured in the same run so the ratios mean something on a shared, noisy machine.
 *   1. ceilings: ed25519 verifies/s (node:crypto, the library the node uses), SHA-256 of 200 B/s,
 *      raw LevelDB batch puts/s; ceiling tx/s = cores x verifies/s / n (every peer verifies every tx)
 *   2. a 4-peer cluster (separate processes, loopback, Noise + Yamux, LevelDB on disk) under open-loop
 *      load from a separate load-generator process (`vigil bench`) at increasing offered rates
 *   3. commit latency at 25/50/90% of saturation; view change after the primary is killed
 *   4. catch-up of a peer that missed BENCH_CATCHUP_TXS transactions (default 100,000)
 * Prints a table and writes bench-results/cluster.json at the repository root.
 */
import { execFile } from 'node:child_process'
import { createPublicKey, generateKeyPairSync, hash, sign, verify } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { createRequire } from 'node:module'
import { Level } from 'level'
import { Cluster } from '../src/cluster.js'

const run = promisify(execFile)
const VIGIL = join(dirname(createRequire(import.meta.url).resolve('@vigil/cli/package.json')), 'bin', 'vigil.js')
const ROOT = join(dirname(createRequire(import.meta.url).resolve('@vigil/cli/package.json')), '..', '..')

function rate(fn: () => void, ms = 1000): number {
  let n = 0
  const end = performance.now() + ms
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) fn()
    n += 100
  }
  return Math.round(n / (ms / 1000))
}

async function ceilings() {
  const { privateKey } = generateKeyPairSync('ed25519')
  const pub = createPublicKey(privateKey)
  const msg = new Uint8Array(200).fill(7)
  const sig = sign(null, msg, privateKey)
  const verifies = rate(() => verify(null, msg, pub, sig))
  const sha = rate(() => hash('sha256', msg))
  const dir = mkdtempSync(join(tmpdir(), 'vigil-raw-'))
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  const value = new Uint8Array(200).fill(1)
  const t0 = performance.now()
  let puts = 0
  for (let b = 0; performance.now() - t0 < 1500; b++) {
    const batch = db.batch()
    for (let i = 0; i < 1000; i++) batch.put(Buffer.from(`k${b}-${i}`), value)
    await batch.write({ sync: true })
    puts += 1000
  }
  const leveldb = Math.round(puts / ((performance.now() - t0) / 1000))
  await db.close()
  rmSync(dir, { recursive: true, force: true })
  return { verifiesPerSec: verifies, sha256PerSec: sha, leveldbPutsPerSec: leveldb, cores: availableParallelism() }
}

interface Load {
  offeredPerSec: number
  committed: number
  sent: number
  failed: number
  committedPerSec: number
  latencyMs: { p50: number; p90: number; p99: number; max: number }
}

async function load(c: Cluster, rateTx: number, seconds: number, valueBytes = 64): Promise<Load> {
  const nodes = c.manifest.nodes.filter((_, i) => c.running(i)).map((n) => n.api).join(',')
  const { stdout } = await run(process.execPath, [VIGIL, 'bench', '--nodes', nodes, '--rate', String(rateTx), '--duration', String(seconds), '--value-bytes', String(valueBytes), '--json'], {
    maxBuffer: 1 << 24,
    timeout: (seconds + 120) * 1000,
  })
  return JSON.parse(stdout) as Load
}

async function main() {
  const out: Record<string, unknown> = { date: new Date().toISOString(), loadAverage: loadavg()[0] }
  const ceil = await ceilings()
  const n = 4
  const ceilingTx = Math.round((ceil.cores * ceil.verifiesPerSec) / n)
  out.ceilings = { ...ceil, txCeilingPerSec: ceilingTx }
  console.log(`ceilings: ${ceil.verifiesPerSec} ed25519 verifies/s per core, ${ceil.sha256PerSec} SHA-256(200 B)/s, ${ceil.leveldbPutsPerSec} LevelDB puts/s (1000 x 200 B synced batches), ${ceil.cores} cores -> ceiling ${ceilingTx} tx/s for n=${n}`)

  const c = await Cluster.create({ nodes: n, logLevel: 'warn' })
  try {
    c.startAll()
    await c.waitReady()
    await c.deploy(0, 'bench', 'kv')
    const sweep: Load[] = []
    for (const r of (process.env.BENCH_RATES ?? '500,1000,2000,3000,4000').split(',').map(Number)) {
      const l = await load(c, r, 6)
      sweep.push(l)
      console.log(`offered ${r} tx/s: committed ${l.committedPerSec} tx/s (${l.committed}/${l.sent}), p50 ${l.latencyMs.p50} ms, p99 ${l.latencyMs.p99} ms`)
      if (l.committedPerSec < r * 0.7) break
    }
    const saturation = Math.max(...sweep.map((l) => l.committedPerSec))
    out.saturation = { committedPerSec: saturation, ratioToCeiling: Number((saturation / ceilingTx).toFixed(3)), sweep }
    console.log(`saturation ${saturation} tx/s = ${((100 * saturation) / ceilingTx).toFixed(1)}% of the ${ceilingTx} tx/s ceiling`)

    const latency: Record<string, Load> = {}
    for (const pct of [25, 50, 90]) {
      const l = await load(c, Math.max(10, Math.round((saturation * pct) / 100)), 5)
      latency[`${pct}%`] = l
      console.log(`at ${pct}% of saturation (${l.offeredPerSec} tx/s): p50 ${l.latencyMs.p50} ms, p99 ${l.latencyMs.p99} ms`)
    }
    out.latency = latency
    const at1000 = await load(c, 1000, 5)
    out.latencyAt1000 = at1000.latencyMs
    console.log(`at 1000 tx/s offered: p50 ${at1000.latencyMs.p50} ms, p99 ${at1000.latencyMs.p99} ms`)

    // Catch-up: a peer misses BENCH_CATCHUP_TXS transactions, then restarts.
    const missed = Number(process.env.BENCH_CATCHUP_TXS ?? 100_000)
    await c.stop(3, 'SIGTERM')
    const before = (await c.status(0))!.height
    const fill = await load(c, Math.max(500, Math.round(saturation * 0.8)), Math.ceil(missed / Math.max(500, Math.round(saturation * 0.8))))
    const target = (await c.status(0))!.height
    const t0 = performance.now()
    c.start(3)
    await c.waitHeight(target, [3], 600_000)
    const secs = (performance.now() - t0) / 1000
    out.catchUp = { transactions: fill.committed, blocks: target - before, seconds: Number(secs.toFixed(1)), txPerSec: Math.round(fill.committed / secs), localCommitTxPerSec: saturation }
    console.log(`catch-up of ${fill.committed} transactions (${target - before} blocks): ${secs.toFixed(1)} s from restart = ${Math.round(fill.committed / secs)} tx/s (cluster commit rate ${saturation} tx/s)`)

    // View change: kill the primary, time until a surviving peer commits the next block.
    const primary = (await c.status(0))!.primary
    const watcher = [0, 1, 2, 3].find((i) => i !== primary)!
    const slow = load(c, 100, 8)
    await new Promise((r) => setTimeout(r, 1500))
    const h0 = (await c.status(watcher))!.height
    const k0 = performance.now()
    await c.stop(primary, 'SIGKILL')
    let viewChangeMs = NaN
    while (performance.now() - k0 < 30_000) {
      if ((await c.status(watcher))!.height > h0 + 1) {
        viewChangeMs = Math.round(performance.now() - k0)
        break
      }
      await new Promise((r) => setTimeout(r, 20))
    }
    await slow.catch(() => null)
    out.viewChangeMs = viewChangeMs
    console.log(`view change after SIGKILL of the primary: next commit after ${viewChangeMs} ms (viewChangeTimeoutMs 1000)`)
  } finally {
    await c.destroy()
  }
  mkdirSync(join(ROOT, 'bench-results'), { recursive: true })
  writeFileSync(join(ROOT, 'bench-results', 'cluster.json'), JSON.stringify(out, null, 2) + '\n')
}

await main()
