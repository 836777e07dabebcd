import { generateKeyPair, toHex, type KeyPair } from '@vigil/common'
import { ApiRequestError, makeTx, sendTx } from '@vigil/cli'
import type { Committed as CommittedTx } from '../cluster.js'
import type { TestnetDriver } from './driver.js'

/**
 * Client load with a complete history: every transaction submitted, through which peer, and
 * what the client was told. Only `ok` (wait=commit answered 200) counts as acknowledged.
 */
export type Outcome = 'ok' | 'timeout' | 'unreachable' | 'busy' | 'error'

export interface Op {
  txId: string
  via: number
  t0: number
  t1: number
  outcome: Outcome
  height?: number
  index?: number
  detail?: string
}

export const INSTANCE = 'chaos'

function classify(err: unknown): { outcome: Outcome; detail: string } {
  if (!(err instanceof ApiRequestError)) return { outcome: 'error', detail: String(err) }
  // 504: wait=commit gave up (the tx may still commit); 0: connection refused or no answer in time;
  // 503: the peer is starting, stopping or its mempool is full. Anything else is a wrong answer.
  const outcome: Outcome = err.status === 504 ? 'timeout' : err.status === 0 ? 'unreachable' : err.status === 503 ? 'busy' : 'error'
  return { outcome, detail: `${err.status} ${err.code}: ${err.message}` }
}

export class History {
  readonly ops: Op[] = []
  private readonly keys: KeyPair[] = Array.from({ length: 4 }, () => generateKeyPair())
  private seq = 0

  constructor(private readonly t: TestnetDriver) {}

  /** One kv put through peer `via`, waiting for the commit. Never throws: the outcome is recorded. */
  async put(via: number, tag: string): Promise<Op> {
    const n = this.seq++
    const tx = makeTx(this.t.chainId, this.keys[n % this.keys.length]!, INSTANCE, 'put', { key: `${tag}-${n}`, value: n })
    const op: Op = { txId: toHex(tx.id), via, t0: Date.now(), t1: 0, outcome: 'ok' }
    this.ops.push(op)
    try {
      const r = (await sendTx(this.t.api(via), tx, true)) as CommittedTx
      Object.assign(op, { height: r.height, index: r.index })
      if (!r.result.ok) Object.assign(op, { outcome: 'error', detail: `committed with error ${r.result.code}: ${r.result.error}` })
    } catch (err) {
      Object.assign(op, classify(err))
    }
    op.t1 = Date.now()
    return op
  }

  /** `count` puts, `concurrency` at a time, through the peers `via` in turn. */
  async batch(via: number[], count: number, tag: string, concurrency = 8): Promise<Op[]> {
    const out: Op[] = []
    let next = 0
    const worker = async () => {
      while (next < count) {
        const k = next++
        out.push(await this.put(via[k % via.length]!, tag))
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
    return out
  }

  /** Keeps `concurrency` clients submitting through peers chosen by `pick` until stop() is awaited. */
  background(pick: () => number, tag: string, concurrency = 4): { stop: () => Promise<void> } {
    let running = true
    const loops = Array.from({ length: concurrency }, async () => {
      while (running) {
        const op = await this.put(pick(), tag)
        // A peer that is down answers at once: do not spin on it.
        if (op.outcome !== 'ok') await new Promise((r) => setTimeout(r, 200))
      }
    })
    return {
      stop: async () => {
        running = false
        await Promise.all(loops)
      },
    }
  }

  acknowledged(): Op[] {
    return this.ops.filter((o) => o.outcome === 'ok')
  }

  count(outcome: Outcome): number {
    return this.ops.filter((o) => o.outcome === outcome).length
  }

  summary(): string {
    const by = (['ok', 'timeout', 'unreachable', 'busy', 'error'] as const).map((o) => `${o} ${this.count(o)}`)
    return `${this.ops.length} submitted: ${by.join(', ')}`
  }
}

/** Deploys the kv instance the workload writes to. */
export async function deployInstance(t: TestnetDriver): Promise<void> {
  const r = (await sendTx(t.api(0, 30_000), makeTx(t.chainId, t.admin, '_lifecycle', 'deploy', { name: INSTANCE, contract: 'kv' }), true)) as CommittedTx
  if (!r.result.ok) throw new Error(`deploy failed: ${r.result.error}`)
}
