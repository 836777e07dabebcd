import { performance } from 'node:perf_hooks'
import { randomBytes } from 'node:crypto'
import { Signer, encodeTxList, generateKeyPair, toHex } from '@vigil/common'
import { ApiClient } from './client.js'
import { CliError } from './output.js'
import { makeTx } from './tx.js'

/** kv puts, mhealth sleep-diary entries, or the two alternating. */
export type Workload = 'kv' | 'mhealth' | 'mixed'
export const WORKLOADS: readonly Workload[] = ['kv', 'mhealth', 'mixed']

/**
 * Open-loop load: transactions are signed before the measured window, then sent (as CBOR
 * batches to /v1/txs) at a fixed
 * offered rate (in small batches every tickMs, round-robin over the peers) whatever the
 * peers' answers, so a slow cluster shows up as latency and a lower committed rate rather
 * than as a slower client. Latency is from a transaction's scheduled send time to the
 * answer that it committed on the receiving peer.
 */
export interface LoadOptions {
  nodes: string[]
  chainId: string
  /** kv instance to write to (deployed beforehand). */
  instance: string
  /** mhealth instance the diary entries go to (deployed beforehand), for the mhealth and mixed workloads. */
  diaryInstance: string
  workload: Workload
  rate: number
  durationSec: number
  /** Bytes of the value in each kv put (the whole transaction is about 150 B more). */
  valueBytes: number
  clients?: number
  tickMs?: number
}

export interface LoadResult {
  offeredPerSec: number
  sent: number
  committed: number
  failed: number
  committedPerSec: number
  latencyMs: { p50: number; p90: number; p99: number; max: number }
  /** Size of the first transaction (a kv put in the mixed workload). */
  txBytes: number
}

interface BatchAnswer {
  results: Array<{ height?: number; result?: { ok: boolean }; error?: { code: string } }>
}

/** A synthetic sleep-diary entry (CBT-I study format) for day `day` from 2026-11-01. */
export function diaryEntry(day: number) {
  const date = new Date(Date.UTC(2026, 10, 1 + day)).toISOString().slice(0, 10)
  return { date, bedTime: '23:00', sleepOnsetLatencyMin: 20 + (day % 30), wakeAfterSleepOnsetMin: 15, wakeTime: '06:30', riseTime: '06:45', sleepQuality: 1 + (day % 5) }
}

/** The patient client k writes diary entries for (registered with its key before the run). */
const patientOf = (run: string, k: number): string => `load-${run}-${k}`

/**
 * Signs every transaction of the run up front, so signing is outside the measured window.
 * Transaction i is client i's (round-robin): a kv put of a new key, or a diary entry for the
 * client's own patient; the mixed workload alternates them (half of each).
 */
function presign(o: LoadOptions, keys: Signer[], run: string): Uint8Array[] {
  const total = Math.max(1, Math.round(o.rate * o.durationSec))
  const value = 'x'.repeat(o.valueBytes)
  return Array.from({ length: total }, (_, i) => {
    const k = i % keys.length
    // Mixed: every other transaction, shifted by one each round of clients, so every client writes both kinds.
    const diary = o.workload === 'mhealth' || (o.workload === 'mixed' && (i + Math.floor(i / keys.length)) % 2 === 1)
    const tx = diary
      ? makeTx(o.chainId, keys[k]!, o.diaryInstance, 'appendEntry', { patientId: patientOf(run, k), entry: diaryEntry(Math.floor(i / keys.length)) }, `${run}-${i}`)
      : makeTx(o.chainId, keys[k]!, o.instance, 'put', { key: `bench-${run}-${i}`, value }, `${run}-${i}`)
    return tx.bytes
  })
}

/** Registration rounds: a network still draining an earlier load may take a few commit waits. */
const REGISTER_ATTEMPTS = 8
/** Answers worth sending the same transactions again for: still pending, or the mempool was full. */
const RETRYABLE = new Set(['COMMIT_TIMEOUT', 'MEMPOOL_FULL'])

/**
 * Registers each client's patient (outside the measured window), so that its diary entries are
 * accepted. The same signed transactions are sent again while they are pending (a resent one
 * that has committed meanwhile is answered with its commit), at most REGISTER_ATTEMPTS times.
 */
async function registerPatients(o: LoadOptions, keys: Signer[], run: string, client: ApiClient): Promise<void> {
  let pending = keys.map((key, k) => makeTx(o.chainId, key, o.diaryInstance, 'registerPatient', { patientId: patientOf(run, k), profile: { studyArm: k % 2 === 0 ? 'cbt-i' : 'control' } }).bytes)
  for (let attempt = 1; pending.length > 0; attempt++) {
    const { results } = await client.post<BatchAnswer>('/v1/txs?wait=commit', encodeTxList(pending))
    const failed = results.find((r) => (r.height !== undefined && r.result?.ok !== true) || (r.height === undefined && !RETRYABLE.has(r.error?.code ?? '')))
    if (failed !== undefined) throw new CliError(`registering the load's patients in "${o.diaryInstance}" failed: ${JSON.stringify(failed)}`)
    pending = pending.filter((_, i) => results[i]!.height === undefined)
    if (pending.length > 0 && attempt === REGISTER_ATTEMPTS) throw new CliError(`${pending.length} of the load's patients were not registered in "${o.diaryInstance}" after ${attempt} attempts: ${JSON.stringify(results.find((r) => r.height === undefined))}`)
    if (pending.length > 0) await new Promise((r) => setTimeout(r, 1000))
  }
}

const pct = (sorted: number[], p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!)

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const tickMs = o.tickMs ?? 10
  const keys = Array.from({ length: o.clients ?? 16 }, () => new Signer(generateKeyPair()))
  const run = toHex(randomBytes(4))
  const txs = presign(o, keys, run)
  const clients = o.nodes.map((url) => new ApiClient(url, 120_000))
  if (o.workload !== 'kv') await registerPatients(o, keys, run, clients[0]!)
  const latencies: number[] = []
  let committed = 0
  let failed = 0
  let lastCommit = 0
  const inflight: Array<Promise<void>> = []
  const start = performance.now() + 50
  let sent = 0
  for (let tick = 0; sent < txs.length; tick++) {
    const due = start + tick * tickMs
    const wait = due - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    const upto = Math.min(txs.length, Math.round(((tick + 1) * tickMs * o.rate) / 1000))
    if (upto <= sent) continue
    const batch = txs.slice(sent, upto)
    sent = upto
    const client = clients[tick % clients.length]!
    inflight.push(
      client
        .post<BatchAnswer>('/v1/txs?wait=commit', encodeTxList(batch))
        .then((answer) => {
          const now = performance.now()
          for (const r of answer.results) {
            if (r.height !== undefined && r.result?.ok === true) {
              committed++
              latencies.push(now - due)
              lastCommit = now
            } else failed++
          }
        })
        .catch(() => {
          failed += batch.length
        }),
    )
  }
  await Promise.all(inflight)
  latencies.sort((a, b) => a - b)
  const window = Math.max(o.durationSec, (lastCommit - start) / 1000)
  return {
    offeredPerSec: o.rate,
    sent,
    committed,
    failed,
    committedPerSec: Math.round(committed / window),
    latencyMs: { p50: round(pct(latencies, 50)), p90: round(pct(latencies, 90)), p99: round(pct(latencies, 99)), max: round(latencies.at(-1) ?? NaN) },
    txBytes: txs[0]!.length,
  }
}

const round = (x: number) => Math.round(x * 10) / 10
