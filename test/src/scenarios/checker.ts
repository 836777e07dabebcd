import assert from 'node:assert/strict'
import { quorumSize } from '@vigil/common'
import { waitFor, type Status } from '../cluster.js'
import type { TestnetDriver } from './driver.js'
import type { History } from './workload.js'

/**
 * The end-of-scenario checker: the honest peers agree on every block and the state root, every
 * acknowledged transaction is in the ledger exactly once at the place the client was told (and no
 * transaction twice), and every block carries a commit certificate from a quorum.
 */
interface BlockView {
  header: { hash: string; height: number }
  txs: Array<{ id: string }>
  certificate: { sigs: Array<{ replica: number }> } | null
}

export interface LedgerReport {
  height: number
  blocks: number
  txs: number
  acknowledged: number
  lost: number
}


/** Waits until `peers` report the same height, last block and state root twice in a row. */
export async function waitConverged(t: TestnetDriver, peers: number[], timeoutMs = 60_000): Promise<Status[]> {
  let last: Status[] = []
  let prevKey = ''
  await waitFor(
    async () => {
      const st = await Promise.all(peers.map((i) => t.status(i)))
      if (st.some((s) => s === null)) return false
      last = st as Status[]
      const key = JSON.stringify(last.map((s) => [s.height, s.lastBlockHash, s.stateRoot]))
      const same = new Set(last.map((s) => `${s.height}/${s.lastBlockHash}/${s.stateRoot}`)).size === 1
      const stable = same && key === prevKey
      prevKey = key
      return stable
    },
    timeoutMs,
    () => `peers ${peers.map((i) => `vp${i}`).join(',')} did not converge: ${JSON.stringify(last.map((s) => ({ vp: s.node.index, height: s.height, last: s.lastBlockHash.slice(0, 12), view: s.view, syncing: s.syncing })))}`,
    500,
  )
  return last
}

async function blocksOf(t: TestnetDriver, i: number, height: number): Promise<BlockView[]> {
  const out: BlockView[] = []
  for (let from = 0; from <= height; from += 100) {
    const page = await t.api(i, 30_000).get<{ blocks: BlockView[] }>(`/v1/blocks?from=${from}&limit=100`)
    out.push(...page.blocks)
  }
  // Blocks are never removed, so a peer that reported `height` has every block up to it.
  assert.ok(out.length > height, `vp${i} reported height ${height} but served ${out.length} blocks`)
  return out.slice(0, height + 1)
}

/**
 * The peers' chains (of any lengths) hold the same block at every height two of them have, and
 * every block after genesis carries a commit certificate from a quorum.
 */
function assertOneChain(t: TestnetDriver, peers: number[], chains: BlockView[][]): void {
  const top = Math.max(...chains.map((c) => c.length))
  for (let h = 0; h < top; h++) {
    const hashes = new Set(chains.flatMap((c) => (h < c.length ? [c[h]!.header.hash] : [])))
    assert.equal(hashes.size, 1, `fork at height ${h}: ${peers.map((i, k) => `vp${i} ${chains[k]![h]?.header.hash ?? '-'}`).join(', ')}`)
  }
  for (const b of chains.flatMap((c) => c.slice(1))) {
    const signers = new Set(b.certificate?.sigs.map((s) => s.replica) ?? [])
    assert.ok(signers.size >= quorumSize(t.size), `block ${b.header.height} committed without a quorum certificate (signers: ${[...signers].join(',')})`)
  }
}

/**
 * The chains as they stand, whether or not the peers have converged (during a partition each
 * side has its own height): no fork, a quorum certificate on every block, and no transaction
 * in two places. Returns the heights compared.
 */
export async function checkChains(t: TestnetDriver, peers: number[]): Promise<number[]> {
  const heights = await Promise.all(
    peers.map(async (i) => {
      const s = await t.status(i)
      assert.ok(s !== null, `vp${i} did not answer /v1/status`)
      return s.height
    }),
  )
  const chains = await Promise.all(peers.map((i, k) => blocksOf(t, i, heights[k]!)))
  assertOneChain(t, peers, chains)
  const longest = chains.reduce((a, b) => (b.length > a.length ? b : a))
  const seen = new Map<string, number>()
  for (const b of longest) {
    for (const tx of b.txs) {
      assert.ok(!seen.has(tx.id), `tx ${tx.id} committed twice: at heights ${seen.get(tx.id)} and ${b.header.height}`)
      seen.set(tx.id, b.header.height)
    }
  }
  return heights
}

export async function checkLedger(t: TestnetDriver, history: History, peers: number[]): Promise<LedgerReport> {
  const st = await waitConverged(t, peers)
  const height = st[0]!.height
  const chains = await Promise.all(peers.map((i) => blocksOf(t, i, height)))
  assertOneChain(t, peers, chains)
  const chain = chains[0]!

  const where = new Map<string, Array<{ height: number; index: number }>>()
  for (const b of chain) b.txs.forEach((tx, index) => where.set(tx.id, [...(where.get(tx.id) ?? []), { height: b.header.height, index }]))
  const sent = new Map(history.ops.map((o) => [o.txId, o]))
  const twice = [...where].filter(([, at]) => at.length > 1).map(([id, at]) => ({ id, at, client: sent.get(id) }))
  assert.deepEqual(twice, [], `transactions committed more than once (at: ledger places, client: what its submitter was told)`)

  const acked = history.acknowledged()
  const lost = acked.filter((o) => !where.has(o.txId))
  assert.deepEqual(
    lost.map((o) => o.txId),
    [],
    `${lost.length} acknowledged transactions are not in the ledger (height ${height})`,
  )
  for (const o of acked) assert.deepEqual(where.get(o.txId), [{ height: o.height, index: o.index }], `tx ${o.txId} acknowledged at ${o.height}/${o.index} but stored elsewhere`)
  // Every peer answers GET /v1/tx/:id with the same place (bounded parallelism).
  for (let k = 0; k < acked.length; k += 50) {
    await Promise.all(
      acked.slice(k, k + 50).flatMap((o) =>
        peers.map(async (i) => {
          const r = await t.api(i).get<{ height: number; index: number }>(`/v1/tx/${o.txId}`)
          assert.deepEqual({ height: r.height, index: r.index }, { height: o.height, index: o.index }, `vp${i} places tx ${o.txId} elsewhere`)
        }),
      ),
    )
  }
  return { height, blocks: chain.length, txs: where.size, acknowledged: acked.length, lost: lost.length }
}

/**
 * While no quorum exists nothing may commit: records the peers' heights now and, at check(),
 * asserts that none moved. Start it a moment after the fault so messages already in flight land.
 */
export async function noQuorumWindow(t: TestnetDriver, peers: number[]): Promise<{ check: () => Promise<void> }> {
  const heights = async () => Promise.all(peers.map(async (i) => (await t.status(i))?.height ?? null))
  const before = await heights()
  return {
    check: async () => {
      const now = await heights()
      assert.deepEqual(now, before, `committed without a quorum: heights of ${peers.map((i) => `vp${i}`).join(',')} went from ${before} to ${now}`)
    },
  }
}
