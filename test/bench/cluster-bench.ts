/**
 * `pnpm bench` (cluster part): what Vigil does on this machine beside what the machine can do,
 * both measured in the same run so the ratios mean something on a shared, noisy machine.
 *   1. ceilings: ed25519 verifies/s (libsodium through @vigil/common, what the node uses), SHA-256 of 200 B/s,
 *      raw LevelDB batch puts/s, libp2p frames/s between two processes;
 *      ceiling tx/s = cores x verifies/s / n (every peer verifies every tx)
 *   2. a 4-peer cluster (separate processes, loopback, Noise + Yamux, LevelDB on disk) under open-loop
 *      load from a separate load-generator process (`vigil bench`) at increasing offered rates:
 *      signed kv puts and mhealth sleep-diary entries, alternating
 *   3. commit latency at 25/50/90% of saturation and at 1,000 tx/s offered
 *   4. scaling: saturation with 2 KB and 16 KB transactions, and with n = 7 (f = 2)
 *   5. catch-up of a peer that missed 10,000, then BENCH_CATCHUP_TXS (default 100,000) transactions
 *   6. view change after the primary is killed
 *   7. memory: RSS per peer and disk bytes per transaction once BENCH_MEMORY_TXS (default 1,000,000)
 *      transactions are committed; then `vigil verify --home` on a stopped peer's chain
 * BENCH_SECTIONS picks parts (default cluster,sizes,n7,memory: 1-3 and 5-6 are "cluster", 5-6 alone "recovery"); BENCH_QUICK=1
 * is BENCH_SECTIONS=cluster (a few minutes instead of about half an hour). Without the cluster part,
 * BENCH_SATURATION (default 1000) stands in for the measured saturation, or BENCH_MEMORY_RATE sets the rate.
 * Prints a table and writes bench-results/cluster.json (cluster-<sections>.json for a partial run) at the repository root.
 */
import { execFile } from 'node:child_process'
import { hash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { createRequire } from 'node:module'
import { Level } from 'level'
import { decodeBlock, decodeCertificate } from '@vigil/common'
import { apiSource, freshStore, loadConfig } from '@vigil/node'
import type { Workload } from '@vigil/cli'
import { verifiesPerSec } from '../src/ceilings.js'
import { Cluster } from '../src/cluster.js'
import { sleep } from '../src/scenarios/peers.js'

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

/**
 * Where the time goes when a goal is missed, from per-thread CPU (/proc) and `node --cpu-prof` of
 * the peers on this machine (2026-12-06, the last profiles after the allocation cuts);
 * printed beside each missed goal.
 */
const BOTTLENECK = {
  throughput:
    'CPU: at saturation the 4 peers and the load generator keep both cores busy. The CPU a peer spends per transaction ' +
    '(printed per rate above) falls as batches grow, ~900 us at 500 tx/s and ~270 us at saturation (2026-12-06), so ' +
    'per-block and per-message costs dominate at low rates. A peer\'s main-thread profile is flat: Node streams and events ' +
    'carrying libp2p and HTTP traffic ~16%, LevelDB calls ~8%, handing signature batches to the workers ~8% (mostly the ' +
    'wait for a core after waking one), the store ~7%, GC ~6%, libp2p ~6%, CBOR ~4%, HTTP ~3%, Noise ~2%, PBFT ~2%; ' +
    'and the block cycle is serial: batch h+1 is proposed only after h is executed (its certificate covers header h). ' +
    'The peers fill both cores at any load (from 50 tx/s on each uses 0.37-0.43 cores, the block rate adjusting). ' +
    'perf (CPU only, all 4 peers, 1,000 tx/s, after 25 s of warm-up; 2026-12-06): ed25519 14%, V8 builtins and inline ' +
    'caches 18%, optimised JS 10%, GC 9%, malloc 8%, kernel 9%, V8\'s optimising compiler 7%, the rest spread; ' +
    '~435 us of CPU per transaction per peer at that rate. The execution path alone (execute bench: decode, run the ' +
    'contract, state tree, the block\'s batch) costs 74-110 us per transaction and one signature check 50-80 us, so ' +
    '3,000 tx/s (<= 166 us per transaction per peer on 2 cores, nothing left for the load generator) is out of reach here',
  latency:
    'the serial block cycle (pre-prepare, prepare, commit, execute; each vote persisted) plus the wait for a core: at ' +
    '300 tx/s a synced consensus write takes 4-15 ms inside the cluster against 0.2 ms alone (VIGIL_LOG_LEVEL=trace ' +
    'shows each step\'s coreMs, persistMs and executeMs), and a cycle takes 35-55 ms',
  catchUp:
    're-execution on the main thread (~85% busy; 2026-12-06, 100k transactions in blocks of ~12): the storage engine\'s own work ' +
    '(state tree hashing, checks, batch building; the same as in the local commit rate) about half, then decoding and checking ' +
    'transactions (~10%), execution (~10%), GC (~10%), block encoding and roots (~5%); ~1 s of process start (module loading ~0.65 s); ' +
    'the signature workers are ~70% idle',
  memory:
    'the state tree keeps every key in memory (~130-190 B per key, 2 keys per transaction: the value and the nonce); ' +
    'the rest grows too: at 1,020,000 transactions (2026-12-06) a peer held 642-686 MB, 336-352 MB of it the tree\'s slabs, ' +
    'V8 heap 133-138 MB committed, the rest native (LevelDB, malloc, ~50 MB of code)',
}

async function ceilings() {
  const msg = new Uint8Array(200).fill(7)
  const verifies = verifiesPerSec()
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
  return { verifiesPerSec: verifies, sha256PerSec: sha, leveldbPutsPerSec: leveldb, libp2pFramesPerSec: await libp2pFrames(), cores: availableParallelism() }
}

/** 200 B frames/s between two processes over the node's own links (Noise + Yamux), from the node's throughput test. */
async function libp2pFrames(): Promise<number> {
  const test = join(ROOT, 'packages', 'node', 'dist', 'test', 'p2p-throughput.test.js')
  const { NODE_TEST_CONTEXT: _, ...env } = process.env
  const { stdout } = await run(process.execPath, ['--test', '--test-reporter=spec', test], { env, maxBuffer: 1 << 22, timeout: 120_000 })
  const m = /p2p throughput: .*?: (\d+) frames\/s/.exec(stdout)
  if (m === null) throw new Error(`no throughput line in the p2p test output:\n${stdout.slice(-2000)}`)
  return Number(m[1])
}

/** Offered rates rising until the committed rate falls below 70% of the offer; the best committed rate is the saturation. */
async function saturate(c: Cluster, rates: number[], valueBytes = 64, workload: Workload = 'mixed', seconds = 6): Promise<{ committedPerSec: number; sweep: Load[] }> {
  const sweep: Load[] = []
  const peers = [...Array(c.size).keys()].filter((i) => c.running(i))
  const ticks = () => peers.reduce((sum, i) => sum + cpuTicks(c.procs[i]!.pid!), 0)
  for (const r of rates) {
    const t0 = ticks()
    const l = await load(c, r, seconds, valueBytes, workload)
    // CPU time is steadier than the rates on a shared machine: it says what a transaction costs a peer.
    l.peerCpuUsPerTx = Math.round(((ticks() - t0) * 10_000) / Math.max(1, l.committed) / peers.length)
    sweep.push(l)
    console.log(`  offered ${r} tx/s (${l.txBytes} B): committed ${l.committedPerSec} tx/s (${l.committed}/${l.sent}), p50 ${l.latencyMs.p50} ms, p99 ${l.latencyMs.p99} ms, ${l.peerCpuUsPerTx} us of CPU per transaction per peer`)
    if (l.committedPerSec < r * 0.7) break
  }
  return { committedPerSec: Math.max(...sweep.map((l) => l.committedPerSec)), sweep }
}

async function withCluster<T>(nodes: number, fn: (c: Cluster) => Promise<T>): Promise<T> {
  const c = await Cluster.started({ nodes, logLevel: 'warn' })
  try {
    await c.deploy(0, 'bench', 'kv')
    await c.deploy(0, 'bench-sleep', 'mhealth')
    return await fn(c)
  } finally {
    await c.destroy()
  }
}

/** utime + stime of a process, in clock ticks (10 ms). */
const cpuTicks = (pid: number): number => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return Number(f[11]) + Number(f[12])
}

/** A process's resident memory in MB, from one read of its status: all (VmRSS), its private part (RssAnon) and its mapped files (RssFile: code, LevelDB's tables). */
function residentMb(pid: number): { rss: number; anon: number; files: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const mb = (field: string): number => Math.round(Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]) / 1024)
  return { rss: mb('VmRSS'), anon: mb('RssAnon'), files: mb('RssFile') }
}

function dirBytes(dir: string): number {
  let total = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) total += e.isDirectory() ? dirBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size
  return total
}

/** Loads until `total` transactions are committed in all; RSS per peer, disk bytes per transaction, then an audit of a stopped peer. */
async function memoryAndAudit(c: Cluster, total: number, rate: number): Promise<Record<string, unknown>> {
  let committed = 0
  const t0 = performance.now()
  while (committed < total) {
    const seconds = Math.min(60, Math.ceil((total - committed) / rate))
    committed += (await load(c, rate, seconds)).committed
    console.log(`  ${committed} transactions committed (${Math.round((performance.now() - t0) / 1000)} s)`)
  }
  const resident = c.procs.map((p) => residentMb(p!.pid!))
  const height = (await c.status(0))!.height
  // The consensus log and pools stay bounded however long the run: shown beside the RSS.
  const bookkeeping = await Promise.all([0, 1, 2, 3].map(async (i) => {
    const s = (await c.api(i).get<{ mempool: number; consensus: { logEntries: number; pendingRequests: number } }>('/v1/status'))
    return { mempool: s.mempool, logEntries: s.consensus.logEntries, pendingRequests: s.consensus.pendingRequests }
  }))
  await c.stop(3, 'SIGTERM')
  const disk = dirBytes(c.home(3))
  const v0 = performance.now()
  const { stdout } = await run(process.execPath, [VIGIL, 'verify', '--home', c.home(3), '--json'], { maxBuffer: 1 << 24, timeout: 3_600_000 }).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? '{}' }))
  const secs = (performance.now() - v0) / 1000
  const audit = JSON.parse(stdout) as { ok?: boolean; txs?: number; blocks?: number }
  return {
    committed, blocks: height, rssMbPerPeer: resident.map((m) => m.rss), anonMbPerPeer: resident.map((m) => m.anon), fileMbPerPeer: resident.map((m) => m.files), bookkeeping, diskBytesPerTx: Math.round(disk / committed), diskMb: Math.round(disk / 1e6),
    verify: { ok: audit.ok, blocks: audit.blocks, txs: audit.txs, seconds: Number(secs.toFixed(1)), txPerSec: Math.round((audit.txs ?? 0) / secs) },
  }
}

interface Load {
  offeredPerSec: number
  committed: number
  sent: number
  failed: number
  committedPerSec: number
  latencyMs: { p50: number; p90: number; p99: number; max: number }
  txBytes: number
  /** Peers' CPU (user + system) per committed transaction, per peer, in microseconds. */
  peerCpuUsPerTx?: number
}

/** `vigil bench` against the running peers: kv puts and mhealth diary entries alternating, unless `workload` says otherwise. */
async function load(c: Cluster, rateTx: number, seconds: number, valueBytes = 64, workload: Workload = 'mixed'): Promise<Load> {
  const nodes = c.manifest.nodes.filter((_, i) => c.running(i)).map((n) => n.api).join(',')
  const args = ['bench', '--nodes', nodes, '--rate', String(rateTx), '--duration', String(seconds), '--value-bytes', String(valueBytes), '--workload', workload, '--diary-instance', 'bench-sleep', '--json']
  const { stdout } = await run(process.execPath, [VIGIL, ...args], {
    maxBuffer: 1 << 24,
    timeout: (seconds + 120) * 1000,
  })
  return JSON.parse(stdout) as Load
}

/**
 * Catch-up: a peer misses `missed` transactions, then restarts; timed until it has the
 * others' height. Reported beside the storage engine's local commit rate for the same blocks
 * (fetched from peer 0, then committed one synced commitBlock each into a fresh store: what a
 * peer's storage does when it commits them itself), measured in the same run.
 */
async function catchUp(c: Cluster, saturation: number, missed: number, goals = false) {
  await c.stop(3, 'SIGTERM')
  const before = (await c.status(0))!.height
  const fill = await load(c, Math.max(500, Math.round(saturation * 0.8)), Math.ceil(missed / Math.max(500, Math.round(saturation * 0.8))))
  const target = (await c.status(0))!.height
  const settled = await settle(c, [0, 1, 2])
  const t0 = performance.now()
  c.start(3)
  await c.waitHeight(target, [3], 600_000)
  const secs = (performance.now() - t0) / 1000
  const txPerSec = Math.round(fill.committed / secs)
  const local = await localCommitRate(c, before, target)
  const ratio = Number((txPerSec / local.txPerSec).toFixed(2))
  console.log(`catch-up of ${fill.committed} transactions (${target - before} blocks, after ${settled.toFixed(0)} s for the others to settle): ${secs.toFixed(1)} s from restart = ${txPerSec} tx/s; storage engine commits the same blocks at ${local.txPerSec} tx/s -> ${(100 * ratio).toFixed(0)}%${goals ? ' (goals: < 30 s, >= 50%)' : ''}`)
  if (goals && (ratio < 0.5 || secs >= 30)) console.log(`  goal not met; bottleneck: ${BOTTLENECK.catchUp}`)
  return { transactions: fill.committed, blocks: target - before, settleSeconds: Math.round(settled), seconds: Number(secs.toFixed(1)), txPerSec, clusterCommitTxPerSec: saturation, storageLocalCommit: local, ratioToLocalCommit: ratio }
}

/**
 * Waits (at most 90 s) until these peers use under 10% of a core each, and returns the seconds
 * waited. After a load, their LevelDB compaction runs on for a while; on separate hosts it would
 * not compete with a peer catching up, and the storage engine's rate is measured on a quiet machine.
 */
async function settle(c: Cluster, peers: number[]): Promise<number> {
  const t0 = performance.now()
  while (performance.now() - t0 < 90_000) {
    const before = peers.map((i) => cpuTicks(c.procs[i]!.pid!))
    await sleep(1000)
    // Clock ticks of 10 ms (CLK_TCK 100): 10 in a second is 10% of a core.
    if (peers.every((i, k) => cpuTicks(c.procs[i]!.pid!) - before[k]! < 10)) break
  }
  return (performance.now() - t0) / 1000
}

/** LedgerStore.commitBlock rate over blocks (before, target] of peer 0's chain; earlier blocks are committed untimed to get there. */
async function localCommitRate(c: Cluster, before: number, target: number): Promise<{ txPerSec: number; seconds: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-local-commit-'))
  const store = await freshStore(dir, loadConfig(c.home(0)).genesisDoc)
  let ms = 0
  let txs = 0
  try {
    for await (const raw of apiSource(c.manifest.nodes[0]!.api).range(1, target)) {
      const block = decodeBlock(raw.block)
      const cert = raw.cert === null ? null : decodeCertificate(raw.cert)
      const t = performance.now()
      await store.commitBlock(block, cert)
      if (block.header.height <= before) continue
      ms += performance.now() - t
      txs += block.txs.length
    }
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
  return { txPerSec: Math.round(txs / (ms / 1000)), seconds: Number((ms / 1000).toFixed(1)) }
}

async function main() {
  const out: Record<string, unknown> = { date: new Date().toISOString(), loadAverage: loadavg()[0] }
  const ceil = await ceilings()
  const n = 4
  const ceilingTx = Math.round((ceil.cores * ceil.verifiesPerSec) / n)
  out.ceilings = { ...ceil, txCeilingPerSec: ceilingTx }
  console.log(`ceilings: ${ceil.verifiesPerSec} ed25519 verifies/s per core, ${ceil.sha256PerSec} SHA-256(200 B)/s, ${ceil.leveldbPutsPerSec} LevelDB puts/s (1000 x 200 B synced batches), ${ceil.libp2pFramesPerSec} libp2p 200 B frames/s between 2 processes, ${ceil.cores} cores -> ceiling ${ceilingTx} tx/s for n=${n}`)
  const sections = new Set((process.env.BENCH_SECTIONS ?? (process.env.BENCH_QUICK === '1' ? 'cluster' : 'cluster,sizes,n7,memory')).split(','))
  let saturation = Number(process.env.BENCH_SATURATION ?? 1000)

  if (sections.has('cluster') || sections.has('sizes') || sections.has('recovery')) await withCluster(n, async (c) => {
    if (sections.has('cluster')) await clusterSection(c)
    if (sections.has('sizes')) {
      const sizes: Record<string, unknown> = {}
      for (const [label, valueBytes, sizeRates] of [['2KB', 1900, [250, 500, 1000, 2000, 3000]], ['16KB', 16_200, [50, 100, 200, 400, 800]]] as const) {
        console.log(`n=4, ${label} transactions:`)
        // Sized kv values: a diary entry has a fixed size.
        sizes[label] = await saturate(c, [...sizeRates], valueBytes, 'kv')
      }
      out.sizes = sizes
    }
    if (sections.has('cluster') || sections.has('recovery')) await recoverySection(c)
  })

  /** Saturation sweep, then latency at 25/50/90% of it and at 1,000 tx/s. */
  async function clusterSection(c: Cluster): Promise<void> {
    console.log('n=4, kv puts (~230 B) and mhealth sleep-diary entries (~400 B) alternating:')
    const rates = (process.env.BENCH_RATES ?? '500,1000,2000,3000,4000,5000').split(',').map(Number)
    const sat = await saturate(c, rates)
    saturation = sat.committedPerSec
    const sweep = sat.sweep
    out.saturation = { committedPerSec: saturation, ratioToCeiling: Number((saturation / ceilingTx).toFixed(3)), sweep }
    console.log(`saturation ${saturation} tx/s = ${((100 * saturation) / ceilingTx).toFixed(1)}% of the ${ceilingTx} tx/s ceiling`)
    if (saturation < 3000 || saturation < ceilingTx / 2) console.log(`  goal 3,000 tx/s and 50% of the ceiling not met; bottleneck: ${BOTTLENECK.throughput}`)

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
    if (!(at1000.latencyMs.p50 < 20 && at1000.latencyMs.p99 < 100)) console.log(`  goal p50 < 20 ms, p99 < 100 ms not met; bottleneck: ${BOTTLENECK.latency}`)
  }

  /** Catch-up after missed transactions, then the view change after the primary is killed. */
  async function recoverySection(c: Cluster): Promise<void> {
    // Recovery: a peer misses 10,000, then BENCH_CATCHUP_TXS (default 100,000) transactions, then restarts.
    out.catchUp10k = await catchUp(c, saturation, 10_000)
    // The goals (issue 5) are for 100,000: at 10,000 the peer's ~1 s start is a quarter of the time.
    out.catchUp = await catchUp(c, saturation, Number(process.env.BENCH_CATCHUP_TXS ?? 100_000), true)

    // View change: kill the primary, time until a surviving peer commits the next block.
    const primary = (await c.status(0))!.primary
    const watcher = [0, 1, 2, 3].find((i) => i !== primary)!
    const slow = load(c, 100, 8)
    await sleep(1500)
    const h0 = (await c.status(watcher))!.height
    const k0 = performance.now()
    await c.stop(primary, 'SIGKILL')
    let viewChangeMs = NaN
    while (performance.now() - k0 < 30_000) {
      if ((await c.status(watcher))!.height > h0 + 1) {
        viewChangeMs = Math.round(performance.now() - k0)
        break
      }
      await sleep(20)
    }
    await slow.catch(() => null)
    out.viewChangeMs = viewChangeMs
    console.log(`view change after SIGKILL of the primary: next commit after ${viewChangeMs} ms (viewChangeTimeoutMs 1000)`)
  }

  if (sections.has('n7')) {
    const ceiling7 = Math.round((ceil.cores * ceil.verifiesPerSec) / 7)
    console.log(`n=7 (f=2), kv puts and diary entries alternating (ceiling ${ceiling7} tx/s):`)
    const s7 = await withCluster(7, (c7) => saturate(c7, [250, 500, 1000, 1500, 2000, 3000]))
    out.n7 = { ...s7, ceilingTxPerSec: ceiling7, ratioToCeiling: Number((s7.committedPerSec / ceiling7).toFixed(3)) }
  }

  if (sections.has('memory')) {
    const total = Number(process.env.BENCH_MEMORY_TXS ?? 1_000_000)
    const rate = Number(process.env.BENCH_MEMORY_RATE ?? Math.max(500, Math.round(saturation * 0.8)))
    console.log(`memory: loading a fresh 4-peer cluster at ${rate} tx/s until ${total} transactions are committed`)
    const m = await withCluster(4, (c4) => memoryAndAudit(c4, total, rate))
    out.memory = m
    console.log(`after ${m.committed} transactions: RSS per peer ${(m.rssMbPerPeer as number[]).join(', ')} MB (private ${(m.anonMbPerPeer as number[]).join(', ')}; mapped files ${(m.fileMbPerPeer as number[]).join(', ')}); ${m.diskBytesPerTx} disk bytes per transaction (${m.diskMb} MB); consensus log entries / pending per peer: ${(m.bookkeeping as Array<{ logEntries: number; pendingRequests: number }>).map((b) => `${b.logEntries}/${b.pendingRequests}`).join(', ')}`)
    if ((m.rssMbPerPeer as number[]).some((mb) => mb >= 300)) console.log(`  goal < 300 MB not met; bottleneck: ${BOTTLENECK.memory}`)
    const v = m.verify as { txs: number; seconds: number; txPerSec: number; ok: boolean }
    console.log(`vigil verify --home on that chain: ${v.txs} transactions in ${v.seconds} s = ${v.txPerSec} tx/s (intact: ${v.ok})`)
  }
  mkdirSync(join(ROOT, 'bench-results'), { recursive: true })
  // A partial run writes beside the full one, not over it.
  const name = process.env.BENCH_SECTIONS === undefined && process.env.BENCH_QUICK !== '1' ? 'cluster' : `cluster-${[...sections].join('-')}`
  writeFileSync(join(ROOT, 'bench-results', `${name}.json`), JSON.stringify(out, null, 2) + '\n')
}

await main()
