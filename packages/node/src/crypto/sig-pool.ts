import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { packChecks, wellFormed, type SigCheck } from './sig-batch.js'

/**
 * Checks per message to a worker. Measured here (2 workers, four 500-check blocks in flight,
 * load ~9 so two rounds): 16: 4.0k/7.2k verifies/s, 32: 4.9k/9.5k, 64: 6.3k/11.3k,
 * 128: 6.1k/9.2k, 256: 6.4k/6.9k, 512: 6.6k/6.9k. Smaller batches pay the message overhead,
 * larger ones stop spreading a block over both workers.
 */
export const SIG_BATCH = 64

/**
 * Heap bounds of each worker's V8 isolate. A worker keeps only the batch it checks (measured
 * with node:crypto and its key cache: ~8 MB used, ~11 MB committed after 100k checks), but by default an isolate may
 * grow a 16 MB semi-space and an old space sized for the main thread. A worker that ever hits
 * these limits exits, and its checks come back unverified for the caller to do itself.
 */
export const SIG_WORKER_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 }

interface Slot {
  worker: Worker
  inFlight: number
  jobs: Map<number, { count: number; done: (ok: Uint8Array) => void }>
}

/**
 * ed25519 verification on worker threads (node:crypto verifies ~11k/s per core), so signature
 * checks use every core while the calling thread executes and hashes. Only an accelerator: a
 * check whose worker failed comes back unverified, and callers verify those themselves.
 * Idle workers are unref'd, so a pool never keeps a process alive.
 */
export class SigPool {
  readonly #slots: Slot[] = []
  #nextId = 0

  constructor(
    size = availableParallelism(),
    private readonly batch = SIG_BATCH,
  ) {
    for (let i = 0; i < size; i++) this.#spawn()
  }

  #spawn(): void {
    const worker = new Worker(new URL('./sig-worker.js', import.meta.url), { resourceLimits: SIG_WORKER_LIMITS })
    const slot: Slot = { worker, inFlight: 0, jobs: new Map() }
    worker.on('message', ({ id, ok }: { id: number; ok: Uint8Array }) => this.#settle(slot, id, ok))
    const fail = (): void => {
      const at = this.#slots.indexOf(slot)
      if (at < 0) return
      this.#slots.splice(at, 1)
      for (const [id, job] of slot.jobs) this.#settle(slot, id, new Uint8Array(job.count))
    }
    worker.once('error', fail)
    worker.once('exit', fail)
    // After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref()
    this.#slots.push(slot)
  }

  #settle(slot: Slot, id: number, ok: Uint8Array): void {
    const job = slot.jobs.get(id)
    if (job === undefined) return
    slot.jobs.delete(id)
    slot.inFlight -= job.count
    if (slot.jobs.size === 0) slot.worker.unref()
    job.done(ok)
  }

  /** One entry per check: 1 when the signature verifies, 0 otherwise (or when no worker could tell). */
  async verify(checks: readonly SigCheck[]): Promise<Uint8Array> {
    const out = new Uint8Array(checks.length)
    const idx: number[] = []
    for (let i = 0; i < checks.length; i++) if (wellFormed(checks[i]!)) idx.push(i)
    const parts: Array<Promise<void>> = []
    for (let from = 0; from < idx.length && this.#slots.length > 0; from += this.batch) {
      const part = idx.slice(from, from + this.batch)
      parts.push(this.#send(part.map((i) => checks[i]!)).then((ok) => part.forEach((i, k) => (out[i] = ok[k]!))))
    }
    await Promise.all(parts)
    return out
  }

  /** To the least busy worker. */
  #send(batch: SigCheck[]): Promise<Uint8Array> {
    const slot = this.#slots.reduce((a, b) => (b.inFlight < a.inFlight ? b : a))
    const id = this.#nextId++
    const buf = packChecks(batch)
    return new Promise((done) => {
      slot.jobs.set(id, { count: batch.length, done })
      slot.inFlight += batch.length
      slot.worker.ref()
      slot.worker.postMessage({ id, count: batch.length, buf }, [buf])
    })
  }

  async close(): Promise<void> {
    const slots = this.#slots.splice(0)
    await Promise.all(slots.map((s) => s.worker.terminate()))
    for (const s of slots) for (const [id, job] of s.jobs) this.#settle(s, id, new Uint8Array(job.count))
  }
}

let shared: SigPool | null = null

/** The process's pool, made on first use. */
export function sharedSigPool(): SigPool {
  shared ??= new SigPool()
  return shared
}
