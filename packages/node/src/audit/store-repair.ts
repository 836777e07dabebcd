import { renameSync, rmSync } from 'node:fs'
import {
  ZERO_HASH, batchDigest, txVersionOf, equalBytes, headerHash, resultsRootOf, txRootOf, type Genesis,
} from '@vigil/common'
import { LedgerStore } from '@vigil/storage'
import type { Logger } from '../log.js'
import { certificateChecker, freshStore, replayInto, storeSource, type Problem } from './ledger-audit.js'

/**
 * A peer's check of its own store at start-up, and self-repair.
 *
 * Fast check: the world state hashes to the head's state root (the store checks this at open,
 * see damage()), the head record matches the head block, and the last RECENT blocks link, have
 * their transactions and results roots, and carry certificates signed by a quorum of genesis validators.
 * Full check: storage's verifyStore over the whole chain, certificate signatures included.
 *
 * Repair: locate the first height that cannot be trusted (verifyStore names it; for a damaged
 * state record, the block that wrote it), rebuild a fresh store by re-verifying and re-executing
 * our own blocks below it, keep the PBFT log (so the peer never votes against its own past
 * votes), move the damaged directory aside for inspection and put the rebuilt one in its place.
 * The daemon then re-fetches the rest from its peers through block sync, which verifies and
 * re-executes every block.
 */
const RECENT = 64

/** The digest a certificate signs is this block's batch: normal, or a null batch (view-change hole, no transactions). */
function signsBatch(g: Genesis, digest: Uint8Array, time: number, prevHash: Uint8Array, txRoot: Uint8Array, txCount: number): boolean {
  return equalBytes(digest, batchDigest(time, prevHash, txRoot, g.protocol)) || (txCount === 0 && equalBytes(digest, batchDigest(0, null, ZERO_HASH, g.protocol)))
}

export async function checkStore(store: LedgerStore, g: Genesis, full: boolean): Promise<Problem | null> {
  const damage = store.damage()
  if (damage !== null) return { key: 'world state', reason: damage }
  const head = store.head()
  if (head === null) return null
  if (full) {
    const r = await store.verifyStore({ checkCertificate: certificateChecker(g), txVersion: txVersionOf(g.protocol) })
    return r.ok ? null : { height: r.height, key: r.key, reason: r.reason }
  }
  const checkCert = certificateChecker(g)
  try {
    let prev = head.height > RECENT ? await store.getHeader(head.height - RECENT) : null
    for (let h = Math.max(1, head.height - RECENT + 1); h <= head.height; h++) {
      const block = await store.getBlock(h)
      if (block === null) return { height: h, reason: `block ${h} is missing (head is ${head.height})` }
      const hd = block.header
      const at = `block ${h}`
      if (prev !== null && !equalBytes(hd.prevHash, headerHash(prev))) return { height: h, reason: `${at}: prevHash does not link to block ${h - 1}` }
      if (!equalBytes(hd.txRoot, txRootOf(block.txs))) return { height: h, reason: `${at}: transactions do not match txRoot` }
      if (!equalBytes(hd.resultsRoot, resultsRootOf(block.results))) return { height: h, reason: `${at}: results do not match resultsRoot` }
      const cert = await store.getCertificate(h)
      if (cert === null) return { height: h, reason: `${at}: no commit certificate` }
      if (cert.seq !== h || !equalBytes(cert.digest, hd.batchDigest)) return { height: h, reason: `${at}: certificate is for another batch` }
      if (!signsBatch(g, hd.batchDigest, hd.time, hd.prevHash, hd.txRoot, block.txs.length)) return { height: h, reason: `${at}: batch digest does not match its time, parent and transactions` }
      checkCert(h, cert, hd)
      prev = hd
    }
    if (prev !== null && !equalBytes(headerHash(prev), head.hash)) return { key: 'head', height: head.height, reason: 'head record does not match the head block' }
  } catch (err) {
    return { reason: (err as Error).message }
  }
  return null
}

/** The first height that cannot be trusted (head + 1 when only derived data is damaged). */
export async function locateDamage(store: LedgerStore, g: Genesis): Promise<{ firstBad: number; problem: Problem | null }> {
  const head = store.head()!.height
  const r = await store.verifyStore({ checkCertificate: certificateChecker(g), txVersion: txVersionOf(g.protocol) })
  if (r.ok) return { firstBad: head + 1, problem: null }
  const firstBad = Math.min(head + 1, Math.max(1, r.height ?? head + 1))
  return { firstBad, problem: { height: r.height, key: r.key, reason: r.reason } }
}

/**
 * Rebuilds `dataDir` from the damaged store's blocks below `firstBad` (re-verified and
 * re-executed), keeping its PBFT log; closes the damaged store and returns the rebuilt one.
 */
export async function rebuildStore(damaged: LedgerStore, dataDir: string, g: Genesis, firstBad: number, log: Logger): Promise<{ store: LedgerStore; height: number; aside: string }> {
  const tmp = `${dataDir}.rebuild`
  rmSync(tmp, { recursive: true, force: true })
  const fresh = await freshStore(tmp, g)
  let height = 0
  try {
    const r = await replayInto(fresh, g, storeSource(damaged), firstBad - 1)
    if (r.problem !== null) log.warn({ problem: r.problem }, 'own block failed re-verification during the rebuild; it will come from peers')
    height = fresh.head()!.height
    try {
      await fresh.writeConsensus(await damaged.readConsensus())
    } catch (err) {
      log.error({ err: (err as Error).message }, 'PBFT log unreadable; rebuilt store starts without it')
    }
  } finally {
    await fresh.close()
    await damaged.close()
  }
  const aside = `${dataDir}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`
  renameSync(dataDir, aside)
  renameSync(tmp, dataDir)
  log.info({ height, aside }, `rebuilt store from own verified blocks 0..${height}; damaged copy kept at ${aside}`)
  return { store: await LedgerStore.open(dataDir), height, aside }
}

/** "block 12: key sleep/entry/P-1/000000003: reason", without repeating a block the reason already names. */
export function describeProblem(p: Problem): string {
  const block = p.height === undefined || p.reason.startsWith(`block ${p.height}:`) ? null : `block ${p.height}`
  return [block, p.key === undefined ? null : `key ${p.key}`, p.reason].filter((s) => s !== null).join(': ')
}
