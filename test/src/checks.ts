import assert from 'node:assert/strict'
import type { Cluster, Committed } from './cluster.js'

/** Asserts the listed peers hold the same block hash at every height up to `height`. */
export async function sameChain(c: Cluster, peers: number[], height: number): Promise<void> {
  for (let from = 0; from <= height; from += 100) {
    const pages = await Promise.all(peers.map((i) => c.api(i).get<{ blocks: Array<{ header: { hash: string } }> }>(`/v1/blocks?from=${from}&limit=100`)))
    for (let k = 0; k < Math.min(100, height - from + 1); k++) {
      assert.equal(new Set(pages.map((p) => p.blocks[k]?.header.hash)).size, 1, `peers ${peers.join(',')} disagree on block ${from + k}`)
    }
  }
}

/** Validator indexes whose signatures are in block `height`'s commit certificate. */
export async function certSigners(c: Cluster, via: number, height: number): Promise<number[]> {
  const b = await c.api(via).get<{ certificate: { sigs: Array<{ replica: number }> } }>(`/v1/blocks/${height}`)
  return b.certificate.sigs.map((s) => s.replica)
}

/** Every acknowledged transaction is in the ledger of every listed peer, at the height and position it was acknowledged with. */
export async function allAcknowledgedPresent(c: Cluster, peers: number[], acked: Committed[]): Promise<void> {
  for (const r of acked) {
    for (const i of peers) {
      const t = await c.api(i).get<{ height: number; index: number }>(`/v1/tx/${r.txId}`)
      assert.deepEqual([t.height, t.index], [r.height, r.index], `vp${i} has ${r.txId} at ${t.height}/${t.index}, acknowledged at ${r.height}/${r.index}`)
    }
  }
}
