import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_CONSENSUS, LEDGER_PROTOCOL, Signer, batchDigest, generateKeyPair, txRootOf, type Genesis, type Tx } from '@vigil/common'
import { makeTx } from '@vigil/cli'
import { BlockExecutor, freshStore } from '@vigil/node'
import { diaryEntry } from '../src/load.js'

/**
 * CPU per transaction of block execution, the path every peer runs for every block (consensus,
 * block sync, `vigil verify`): BlockExecutor.build (execute, write sets, results root, state
 * root preview) and the store's commitBlock, timed apart. Blocks of 500 kv `put`s and of 500
 * mhealth `appendEntry`s, with signatures pre-verified (the consensus path passes `verified`)
 * and checked (sync and audit). CPU time from process.cpuUsage, so other load on the machine
 * does not inflate it; the figure is the median block. EXEC_BENCH_BLOCKS sets blocks per case;
 * EXEC_BENCH_ONLY runs only the cases whose label contains it (to profile one: node --cpu-prof).
 */
const BLOCKS = Number(process.env.EXEC_BENCH_BLOCKS ?? 20)
const PER_BLOCK = 500
const PATIENTS = 200
const SIGNERS = 64
const ONLY = process.env.EXEC_BENCH_ONLY ?? ''

const cpuUs = (since: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(since)
  return d.user + d.system
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const dir = mkdtempSync(join(tmpdir(), 'vigil-exec-bench-'))
try {
  const admin = generateKeyPair()
  const genesis: Genesis = {
    chainId: 'vigil-exec-bench',
    protocol: LEDGER_PROTOCOL,
    genesisTime: Date.UTC(2026, 10, 1),
    validators: [0, 1, 2, 3].map((i) => ({ index: i, name: `vp${i}`, publicKey: generateKeyPair().publicKey, peerId: `vp${i}`, addresses: [`/ip4/127.0.0.1/tcp/${7000 + i}`] })),
    admins: [admin.publicKey],
    consensus: DEFAULT_CONSENSUS,
  }
  const store = await freshStore(dir, genesis)
  const executor = new BlockExecutor(store, genesis)
  const signers = Array.from({ length: SIGNERS }, () => new Signer(generateKeyPair()))
  const tx = (i: number, instance: string, method: string, args: Record<string, unknown>): Tx => makeTx(genesis.chainId, signers[i % SIGNERS]!, instance, method, args)

  /** Executes and commits one block; CPU µs of build and of the store's commit. */
  const run = async (txs: Tx[], verified?: (t: Tx) => boolean): Promise<{ build: number; commit: number }> => {
    const head = store.head()!
    const time = head.time + 1000
    const batch = { seq: head.height + 1, time, parent: head.hash, digest: batchDigest(time, head.hash, txRootOf(txs)), cert: null }
    let c = process.cpuUsage()
    const { block, bytes } = await executor.build(batch, txs, verified)
    const build = cpuUs(c)
    c = process.cpuUsage()
    await store.commitBlocks([{ block, cert: null, bytes }])
    const commit = cpuUs(c)
    if (block.results.some((r) => r.code !== 0)) throw new Error(`a transaction failed: ${block.results.find((r) => r.code !== 0)!.error}`)
    return { build, commit }
  }

  await run([makeTx(genesis.chainId, admin, '_lifecycle', 'deploy', { name: 'store', contract: 'kv' }), makeTx(genesis.chainId, admin, '_lifecycle', 'deploy', { name: 'sleep', contract: 'mhealth' })])
  // Each patient registered by its own signer, which then appends its entries.
  const patients = Array.from({ length: PATIENTS }, () => new Signer(generateKeyPair()))
  await run(patients.map((s, p) => makeTx(genesis.chainId, s, 'sleep', 'registerPatient', { patientId: `P-${p}`, profile: { studyArm: p % 2 === 0 ? 'cbt-i' : 'control' } })))

  let serial = 0
  const cases: Record<string, () => Tx[]> = {
    'kv put': () => Array.from({ length: PER_BLOCK }, (_, i) => tx(i, 'store', 'put', { key: `k${serial++}`, value: { n: serial, by: i % SIGNERS, note: 'bench value' } })),
    'mhealth appendEntry': () =>
      Array.from({ length: PER_BLOCK }, () => {
        const n = serial++
        const p = n % PATIENTS
        return makeTx(genesis.chainId, patients[p]!, 'sleep', 'appendEntry', { patientId: `P-${p}`, entry: diaryEntry(Math.floor(n / PATIENTS)) })
      }),
  }
  console.log(`execute bench: ${BLOCKS} blocks of ${PER_BLOCK} per case, CPU µs per transaction (median block); build = execute + results root + state root preview, commit = store.commitBlock`)
  for (const [name, make] of Object.entries(cases)) {
    for (const sigs of ['pre-verified', 'checked'] as const) {
      const label = `${name.padEnd(20)} signatures ${sigs.padEnd(12)}`
      if (!label.includes(ONLY)) continue
      const verified = sigs === 'pre-verified' ? () => true : undefined
      // Signing is the client's cost: blocks are made before the clock starts.
      const blocks = Array.from({ length: BLOCKS + 2 }, make)
      const samples: Array<{ build: number; commit: number }> = []
      for (const [i, txs] of blocks.entries()) {
        const s = await run(txs, verified)
        if (i >= 2) samples.push(s) // two warm-up blocks
      }
      const build = median(samples.map((s) => s.build)) / PER_BLOCK
      const commit = median(samples.map((s) => s.commit)) / PER_BLOCK
      console.log(`${label} build ${build.toFixed(0).padStart(4)} µs/tx  commit ${commit.toFixed(0).padStart(4)} µs/tx  total ${(build + commit).toFixed(0).padStart(4)} µs/tx`)
    }
  }
  console.log(`load average (1 min): ${loadavg()[0]!.toFixed(2)}`)
  await store.close()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
