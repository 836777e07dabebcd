import { concatBytes, encode, sha256, type ConsensusParams } from '@vigil/common'
import type { Message } from '../messages.js'
import { Replica } from '../replica.js'
import type { Request } from '../types.js'
import { noopCrypto } from './crypto.js'

const N = 4
const BATCH = 500
const REQUESTS = 200_000
const PARAMS: ConsensusParams = {
  batchMaxCount: BATCH, batchMaxBytes: 4 * 1024 * 1024, batchTimeoutMs: 5, checkpointInterval: 10, watermarkWindow: 40, viewChangeTimeoutMs: 1000, maxClockSkewMs: 5000,
}

/**
 * Ordering throughput of the core alone: n=4, an instant in-memory network (messages passed
 * as objects, in FIFO order), no-op signatures, batches of 500. Every replica gets every request
 * (as with mempool gossip) and builds its persist records; the node's work (disk, network,
 * execution) is not measured.
 */
export function runBench(): void {
  const domain = { chainId: 'bench', validatorsHash: sha256(encode(['bench'])) }
  const replicas = Array.from({ length: N }, (_, id) => new Replica({ id, n: N, params: PARAMS, domain, crypto: noopCrypto }))
  const heads = Array.from({ length: N }, () => sha256(encode(['bench-genesis'])))
  const queue: Array<{ from: number; to: number; msg: Message }> = []
  let batches = 0
  let ordered = 0
  const busyMs = new Array<number>(N).fill(0)
  const step = (i: number, input: Parameters<Replica['step']>[0]): void => {
    const t0 = performance.now()
    const ready = replicas[i]!.step(input)
    busyMs[i]! += performance.now() - t0
    for (const s of ready.send) {
      if (s.to !== 'all') queue.push({ from: i, to: s.to, msg: s.msg })
      else for (let t = 0; t < N; t++) if (t !== i) queue.push({ from: i, to: t, msg: s.msg })
    }
    for (const d of ready.deliver) {
      if (i === 0) {
        batches++
        ordered += d.batch.requests.length
      }
      const t1 = performance.now()
      heads[i] = sha256(concatBytes(heads[i]!, d.digest))
      busyMs[i]! -= performance.now() - t1
      step(i, { type: 'executed', seq: d.seq, blockHash: heads[i]! })
    }
  }
  for (let i = 0; i < N; i++) step(i, { type: 'stateTransferred', seq: 0, blockHash: heads[i]! })
  const requests: Request[] = Array.from({ length: REQUESTS }, (_, k) => {
    const payload = encode(['bench', k, 'x'.repeat(100)])
    return { id: sha256(payload), payload }
  })
  const started = performance.now()
  for (let k = 0; k < REQUESTS; k += BATCH) {
    for (const request of requests.slice(k, k + BATCH)) for (let i = 0; i < N; i++) step(i, { type: 'request', request })
    for (let e = queue.shift(); e !== undefined; e = queue.shift()) step(e.to, { type: 'message', from: e.from, msg: e.msg })
  }
  const secs = (performance.now() - started) / 1000
  // Each replica runs on its own machine: the cluster orders as fast as its busiest replica's core allows.
  const busiest = Math.max(...busyMs) / 1000
  console.log(`bench: n=${N}, batches of ${BATCH}, instant network, no-op signatures, ${REQUESTS} requests of ~110 bytes`)
  console.log(`  all ${N} replicas in this one process: ${(batches / secs).toFixed(0)} batches/s, ${(ordered / secs).toFixed(0)} requests/s (${secs.toFixed(2)} s)`)
  console.log(`  per replica (busiest replica's step time ${busiest.toFixed(2)} s; replicas ${busyMs.map((m) => (m / 1000).toFixed(2)).join(' / ')} s):`)
  console.log(`    ${(batches / busiest).toFixed(0)} batches/s, ${(ordered / busiest).toFixed(0)} requests/s`)
  if (ordered !== REQUESTS) {
    console.error(`bench: only ${ordered} of ${REQUESTS} requests were ordered`)
    process.exitCode = 1
  }
}
