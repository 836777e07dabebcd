import { parentPort, workerData } from 'node:worker_threads'
import type { Genesis } from '@vigil/common'
import type { RawBlock } from '../sync/protocol.js'
import { replayLedger, type BlockSource } from './ledger-audit.js'

/**
 * Worker side of a parallel audit (see auditStore): re-verifies and re-executes the blocks the
 * main thread posts, on its own core, while the main thread checks the store's indexes and
 * world state. Acknowledges each block so the main thread keeps only a bounded window in flight.
 *
 * Messages in: {block, cert} per height from 0, then {end: true}. Out: {ack: height, txs}, then
 * {done: {problem, txs, stateRoot}}.
 */
const port = parentPort!
const { genesis, to } = workerData as { genesis: Genesis; to: number }

const queue: Array<RawBlock | null> = []
let wake: (() => void) | null = null
port.on('message', (m: RawBlock | { end: true }) => {
  queue.push('end' in m ? null : m)
  wake?.()
})

const source: BlockSource = {
  head: async () => to,
  async *range() {
    for (;;) {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r))
      const next = queue.shift()!
      if (next === null) return
      yield next
    }
  },
}

const r = await replayLedger(genesis, source, to, (height, _to, txs) => port.postMessage({ ack: height, txs }))
port.postMessage({ done: r })
