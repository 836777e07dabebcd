import { performance } from 'node:perf_hooks'
import { randomBytes } from 'node:crypto'
import { Signer, encodeTxList, generateKeyPair, toHex } from '@vigil/common'
import { ApiClient } from './client.js'
import { makeTx } from './tx.js'

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
  txBytes: number
}

interface BatchAnswer {
  results: Array<{ height?: number; result?: { ok: boolean }; error?: { code: string } }>
}

/** Signs every transaction of the run up front, so signing is outside the measured window. */
function presign(o: LoadOptions, keys: Signer[]): Uint8Array[] {
  const total = Math.max(1, Math.round(o.rate * o.durationSec))
  const run = toHex(randomBytes(4))
  const value = 'x'.repeat(o.valueBytes)
  return Array.from({ length: total }, (_, i) => {
    return makeTx(o.chainId, keys[i % keys.length]!, o.instance, 'put', { key: `bench-${run}-${i}`, value }, `${run}-${i}`).bytes
  })
}

const pct = (sorted: number[], p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!)

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const tickMs = o.tickMs ?? 10
  const keys = Array.from({ length: o.clients ?? 16 }, () => new Signer(generateKeyPair()))
  const txs = presign(o, keys)
  const clients = o.nodes.map((url) => new ApiClient(url, 120_000))
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
