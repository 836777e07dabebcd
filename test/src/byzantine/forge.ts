import { mkdtempSync, rmSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeTx, encodeCertificate, headerHash, toHex, type Genesis } from '@vigil/common'
import { BlockExecutor, freshStore, replayInto, storeSource } from '@vigil/node'
import type { LedgerStore } from '@vigil/storage'

/** How far below the head a block with a successful write is looked for. */
const SEARCH_BLOCKS = 64
const SOFT_BYTES = 8 * 1024 * 1024

export interface ForgedTip {
  height: number
  hash: Uint8Array
  bytes: Uint8Array
  cert: Uint8Array | null
  txId: string
}

/**
 * The forged tip a Byzantine sync server hands out: its highest block holding a successful write,
 * with that transaction's signature replaced by garbage. The block is rebuilt by the node's own
 * executor on a throwaway replay of the chain below it, so its results (UNAUTHORIZED, no writes)
 * and state root are exactly what an honest re-execution of the forged transactions gives, and
 * its certificate (over the transaction ids, which leave the signature out) still verifies.
 */
export class ForgedTips {
  #cached: ForgedTip | null = null

  constructor(
    private readonly genesis: Genesis,
    private readonly store: () => LedgerStore,
  ) {}

  async tip(): Promise<ForgedTip | null> {
    const store = this.store()
    const head = store.head()!.height
    for (let h = head; h > Math.max(0, head - SEARCH_BLOCKS); h--) {
      if (this.#cached?.height === h) return this.#cached
      const block = (await store.getBlock(h))!
      const k = block.results.findIndex((r) => r.code === 0 && r.writes.length > 0)
      if (k < 0) continue
      this.#cached = await this.#forge(store, h, k)
      return this.#cached
    }
    return null
  }

  /** Blocks from..to as stored (the forged tip is swapped in by the caller). */
  async honestRange(from: number, to: number): Promise<Array<{ block: Uint8Array; cert: Uint8Array | null }>> {
    const got = await this.store().getBlockRange(from, to - from + 1, SOFT_BYTES)
    return got.map(({ block, cert }) => ({ block, cert: cert === null ? null : encodeCertificate(cert) }))
  }

  async #forge(store: LedgerStore, height: number, k: number): Promise<ForgedTip> {
    const block = (await store.getBlock(height))!
    const cert = await store.getCertificate(height)
    const orig = block.txs[k]!
    const bytes = Uint8Array.from(orig.bytes)
    bytes.set(randomBytes(64), bytes.byteLength - 64)
    const txs = block.txs.map((t, i) => (i === k ? decodeTx(bytes) : t))
    const dir = mkdtempSync(join(tmpdir(), 'vigil-byzantine-'))
    const into = await freshStore(dir, this.genesis)
    try {
      const { problem } = await replayInto(into, this.genesis, storeSource(store), height - 1)
      if (problem !== null) throw new Error(`replaying the chain below ${height} failed: ${JSON.stringify(problem)}`)
      const h = block.header
      const sealed = await new BlockExecutor(into, this.genesis).build({ seq: height, time: h.time, parent: h.prevHash, digest: h.batchDigest, cert }, txs)
      return { height, hash: headerHash(sealed.block.header), bytes: sealed.bytes, cert: cert === null ? null : encodeCertificate(cert), txId: toHex(orig.id) }
    } finally {
      await into.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
