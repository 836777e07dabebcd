import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { verifiesPerSec } from '../src/ceilings.js'
import { diaryTxs, localChain, peerHome } from '../src/tamper-chain.js'
import { vigil } from '../src/tamper.js'

/**
 * Issue 6 bench: how fast `vigil verify --home` audits a 100,000-transaction chain (sleep-diary
 * entries in blocks of 500, certified by 3 of 4 validators). The chain is built locally with
 * the node's executor, then the real command runs as its own process. Prints the rates and
 * writes bench-results/verify.json. VERIFY_BENCH_TXS overrides the size.
 *
 * Beside the result: the signature ceiling measured in the same run. Every transaction signature
 * is verified once, by the re-execution (on the signature pool, all cores); the storage engine's
 * verifyStore checks indexes, history and world state on this thread meanwhile. So verify cannot
 * beat cores x verifies/s, and the re-execution and verifyStore compete for the same cores.
 */
const TXS = Number(process.env.VERIFY_BENCH_TXS ?? 100_000)
const PER_BLOCK = 500
const GOAL_TX_PER_SEC = 20_000
const SIG_CHECKS_PER_TX = 1
/** Where the audit's CPU goes, per thread from /proc (2026-12-06, this bench's chain, after the in-memory replay, the direct CBOR codec and the allocation cuts). */
const BOTTLENECK =
  'CPU: ~23 s on 2 cores for 100,201 transactions, the two cores saturated: re-execution thread 6.8 s (execution, state tree and hashes, ' +
  'the block commit, decoding; GC 13% of its profile), verifyStore 6.3 s (index and history reads 2.2 s, scans, world-state hashes), ' +
  'signatures 5.6 s, V8 GC helper threads 3.8 s, LevelDB thread pool 0.3 s'

const dir = mkdtempSync(join(tmpdir(), 'vigil-verify-bench-'))
try {
  const t0 = performance.now()
  const chain = await localChain(join(dir, 'data'), { patients: 200 })
  for (let sent = 0; sent < TXS; sent += PER_BLOCK) await chain.commit(diaryTxs(chain, Math.min(PER_BLOCK, TXS - sent), sent))
  await chain.commit([])
  const head = chain.store.head()!.height
  await chain.store.close()
  const built = (performance.now() - t0) / 1000
  console.log(`built ${head + 1} blocks with ${TXS} entries (+ deploy and ${chain.patientKeys.length} registrations) in ${built.toFixed(1)} s`)

  peerHome(join(dir, 'home'), chain, join(dir, 'data'))
  const perCore = verifiesPerSec()
  const ceiling = Math.round((availableParallelism() * perCore) / SIG_CHECKS_PER_TX)
  const run = await vigil(['verify', '--home', join(dir, 'home'), '--json'], 900_000)
  if (run.code !== 0) throw new Error(`vigil verify exited ${run.code}:\n${run.stdout}\n${run.stderr}`)
  const r = JSON.parse(run.stdout) as { blocks: number; txs: number; seconds: number; blocksPerSec: number; txPerSec: number }
  const result = {
    bench: 'vigil verify --home',
    date: new Date().toISOString(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    // Other work on the machine slows the audit: the 1-minute load average at the end of the run.
    loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
    blocks: r.blocks,
    transactions: r.txs,
    txPerBlock: PER_BLOCK,
    seconds: r.seconds,
    blocksPerSec: r.blocksPerSec,
    txPerSec: r.txPerSec,
    goalTxPerSec: GOAL_TX_PER_SEC,
    meetsGoal: r.txPerSec >= GOAL_TX_PER_SEC,
    ed25519VerifiesPerSecPerCore: perCore,
    signatureChecksPerTx: SIG_CHECKS_PER_TX,
    signatureCeilingTxPerSec: ceiling,
    ratioToCeiling: Number((r.txPerSec / ceiling).toFixed(3)),
    bottleneck: BOTTLENECK,
  }
  console.log(`vigil verify --home: ${r.blocks} blocks, ${r.txs} transactions in ${r.seconds} s = ${r.blocksPerSec} blocks/s, ${r.txPerSec} tx/s (goal ${GOAL_TX_PER_SEC} tx/s: ${result.meetsGoal ? 'met' : 'NOT met'})`)
  console.log(`signature ceiling: ${availableParallelism()} cores x ${perCore} verifies/s / ${SIG_CHECKS_PER_TX} checks per tx = ${ceiling} tx/s (${(100 * result.ratioToCeiling).toFixed(0)}% reached, load ${result.loadAverage1m})`)
  console.log(`bottleneck: ${BOTTLENECK}`)
  const out = new URL('../../../bench-results/', import.meta.url)
  mkdirSync(out, { recursive: true })
  writeFileSync(new URL('verify.json', out), JSON.stringify(result, null, 2) + '\n')
} finally {
  rmSync(dir, { recursive: true, force: true })
}
