import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Signer, encode, generateKeyPair, signTx, type TxResult } from '@vigil/common'
import { LedgerStore } from '../src/index.js'
import { nextBlock, openBenchStore } from './chain.js'
import { SNAPSHOT_FILE } from '../src/snapshot.js'

/**
 * Restart at scale (`pnpm bench:big`, a few minutes): builds a store holding KEYS state keys,
 * closes it (which writes the state-tree snapshot), then opens it in a fresh process, once with
 * the snapshot and once without (the tree rebuilt from the state records), and prints open time
 * and RSS after open (current and peak) for each.
 */
const KEYS = Number(process.env.BENCH_KEYS ?? 1_000_000)
const WRITES_PER_TX = 2500
const TXS_PER_BLOCK = 20
const CHAIN_ID = 'bench-big'

async function build(dir: string): Promise<{ secs: number; closeMs: number }> {
  const signer = new Signer(generateKeyPair())
  const store = await openBenchStore(dir, CHAIN_ID)
  const start = performance.now()
  let next = 0
  while (next < KEYS) {
    const txs = []
    const results: TxResult[] = []
    for (let t = 0; t < TXS_PER_BLOCK && next < KEYS; t++) {
      txs.push(signTx({ chainId: CHAIN_ID, signer: signer.publicKey, instance: 'records', method: 'load', args: { from: next }, nonce: `n${next}` }, signer))
      const writes = []
      for (let w = 0; w < WRITES_PER_TX && next < KEYS; w++, next++) writes.push({ instance: 'records', key: `patient/${next}`, value: new Uint8Array(encode({ n: next, note: 'x'.repeat(80) })) })
      results.push({ code: 0, error: null, ret: null, writes })
    }
    const block = await nextBlock(store, CHAIN_ID, txs, results)
    await store.commitBlock(block, null)
  }
  const secs = (performance.now() - start) / 1000
  const closing = performance.now()
  await store.close()
  return { secs, closeMs: performance.now() - closing }
}

interface OpenResult {
  ms: number
  source: string
  keys: number
  rssMb: number
  peakRssMb: number
  snapshotRejected?: string
}

/** This process's peak RSS. Not resourceUsage().maxRSS: Linux carries that across exec, so a child would report its parent's. */
function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
  return m === null ? NaN : Number(m[1]) / 1024
}

/** Child mode: open, report, close. */
async function openOnce(dir: string): Promise<void> {
  const start = performance.now()
  const store = await LedgerStore.open(dir, { snapshotMinKeys: Infinity })
  const ms = performance.now() - start
  const load = store.treeLoad()
  const out: OpenResult = { ms, source: load.source, keys: load.keys, rssMb: process.memoryUsage().rss / 2 ** 20, peakRssMb: peakRssMb() }
  if (load.snapshotRejected !== undefined) out.snapshotRejected = load.snapshotRejected
  await store.close()
  process.stdout.write(JSON.stringify(out) + '\n')
}

function openInChild(dir: string): OpenResult {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--open', dir], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`open child failed: ${r.stderr}`)
  return JSON.parse(r.stdout) as OpenResult
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-big-'))
  try {
    const built = await build(dir)
    const snapMb = statSync(join(dir, SNAPSHOT_FILE)).size / 2 ** 20
    const withSnap = openInChild(dir)
    renameSync(join(dir, SNAPSHOT_FILE), join(dir, 'aside'))
    const without = openInChild(dir)
    const rows: Array<[string, string]> = [
      [`built ${KEYS} keys (blocks of ${TXS_PER_BLOCK * WRITES_PER_TX} writes)`, `${built.secs.toFixed(1)} s`],
      ['close, writing the state-tree snapshot', `${built.closeMs.toFixed(0)} ms, ${snapMb.toFixed(1)} MB`],
    ]
    for (const [what, r] of [['with snapshot', withSnap], ['without snapshot (rebuild from state records)', without]] as const) {
      rows.push([`open ${what}: time`, `${(r.ms / 1000).toFixed(2)} s (${r.source}, ${r.keys} keys)`])
      rows.push([`open ${what}: RSS after open / peak`, `${r.rssMb.toFixed(0)} / ${r.peakRssMb.toFixed(0)} MB`])
    }
    const w = Math.max(...rows.map((r) => r[0].length))
    for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`)
  } finally {
    if (process.env.BENCH_KEEP === undefined) rmSync(dir, { recursive: true, force: true })
    else console.log(`kept ${dir}`)
  }
}

if (process.argv[2] === '--open') await openOnce(process.argv[3]!)
else await main()
