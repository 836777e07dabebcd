import { concatBytes, encode, sha256, type ConsensusParams } from '@vigil/common'
import type { Message } from '../messages.js'
import { Replica } from '../replica.js'
import { requestOf, type Input, type Ready, type Request } from '../types.js'
import { noopCrypto } from './crypto.js'

const N = 4
const BATCH = 500
const REQUESTS = 200_000
const PARAMS: ConsensusParams = {
  batchMaxCount: BATCH, batchMaxBytes: 4 * 1024 * 1024, batchTimeoutMs: 5, checkpointInterval: 10, watermarkWindow: 40, viewChangeTimeoutMs: 1000, maxClockSkewMs: 5000,
}

interface Envelope { from: number; to: number; msg: Message }

/** Process CPU time in ms (all threads, so GC helpers count): unlike wall time, other processes on a shared machine do not inflate it. */
function cpuMs(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/**
 * A recipient's own copy of a message carrying a batch: batch digests are memoized per batch
 * object, and replicas in one process must not share that work (each decodes its own batch
 * in a real cluster).
 */
function copyFor(msg: Message): Message {
  if (msg.type === 'preprepare' || msg.type === 'committed') return { ...msg, batch: { ...msg.batch } }
  return msg
}

/**
 * Ordering throughput of the core alone: n=4, an instant network (an in-memory FIFO queue of
 * message objects), no-op signatures, batches of 500. Every replica gets every request (as
 * with mempool gossip), computes its own batch digests and builds its persist records; the
 * node's work (disk, network, execution: here one hash per block) is not measured.
 */
export function runBench(): void {
  const domain = { chainId: 'bench', validatorsHash: sha256(encode(['bench'])) }
  const replicas = Array.from({ length: N }, (_, id) => new Replica({ id, n: N, params: PARAMS, domain, crypto: noopCrypto }))
  const heads = Array.from({ length: N }, () => sha256(encode(['bench-genesis'])))
  const queue: Envelope[] = []
  let head = 0
  let batches = 0
  let ordered = 0
  const cpuBusyMs = new Array<number>(N).fill(0)
  const step = (i: number, input: Input): void => route(i, replicas[i]!.step(input))
  const route = (i: number, ready: Ready): void => {
    for (const s of ready.send) {
      if (s.to !== 'all') queue.push({ from: i, to: s.to, msg: copyFor(s.msg) })
      else for (let t = 0; t < N; t++) if (t !== i) queue.push({ from: i, to: t, msg: copyFor(s.msg) })
    }
    for (const d of ready.deliver) {
      if (i === 0) {
        batches++
        ordered += d.batch.requests.length
      }
      heads[i] = sha256(concatBytes(heads[i]!, d.digest))
      step(i, { type: 'executed', seq: d.seq, blockHash: heads[i]!, now: 0 })
    }
  }
  for (let i = 0; i < N; i++) step(i, { type: 'stateTransferred', seq: 0, blockHash: heads[i]! })
  const requests: Request[] = Array.from({ length: REQUESTS }, (_, k) => {
    const payload = encode(['bench', k, 'x'.repeat(100)])
    return requestOf(payload)
  })
  const started = performance.now()
  const cpuStarted = cpuMs()
  for (let k = 0; k < REQUESTS; k += BATCH) {
    const end = Math.min(k + BATCH, REQUESTS)
    for (let i = 0; i < N; i++) {
      const t0 = cpuMs()
      for (let r = k; r < end; r++) step(i, { type: 'request', request: requests[r]! })
      cpuBusyMs[i]! += cpuMs() - t0
    }
    for (; head < queue.length; head++) {
      const e = queue[head]!
      const t0 = cpuMs()
      step(e.to, { type: 'message', from: e.from, msg: e.msg })
      cpuBusyMs[e.to]! += cpuMs() - t0
    }
    queue.length = head = 0
  }
  const secs = (performance.now() - started) / 1000
  const cpuSecs = (cpuMs() - cpuStarted) / 1000
  // Each replica runs on its own machine: the cluster orders as fast as its busiest replica's core allows.
  const busiest = Math.max(...cpuBusyMs) / 1000
  console.log(`bench: PBFT core alone, n=${N}, batches of ${BATCH}, ${REQUESTS} requests of ~110 bytes, instant network (in-memory queue), no-op signatures`)
  console.log(`  whole system, all ${N} replicas stepping in this one process: ${(ordered / secs).toFixed(0)} requests/s, ${(batches / secs).toFixed(0)} batches/s (${secs.toFixed(2)} s wall; ${(ordered / cpuSecs).toFixed(0)} requests per CPU-second, ${cpuSecs.toFixed(2)} s CPU)`)
  console.log(`  per replica, as if each had its own core (busiest replica's CPU time in step ${busiest.toFixed(2)} s; replicas ${cpuBusyMs.map((m) => (m / 1000).toFixed(2)).join(' / ')} s):`)
  console.log(`    ${(ordered / busiest).toFixed(0)} requests/s, ${(batches / busiest).toFixed(0)} batches/s`)
  if (ordered !== REQUESTS) {
    console.error(`bench: only ${ordered} of ${REQUESTS} requests were ordered`)
    process.exitCode = 1
  }
}
