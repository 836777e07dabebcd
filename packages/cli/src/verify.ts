import { performance } from 'node:perf_hooks'
import { SingleBar } from 'cli-progress'
import { LedgerStore } from '@vigil/storage'
import { auditPeer, auditStore, comparePeers, describeProblem, loadConfig, type AuditReport, type Progress } from '@vigil/node'
import { ApiClient } from './client.js'
import { CliError, DAMAGED, printJson, table } from './output.js'
import { readGenesis } from './proof.js'

/** `vigil verify`: full ledger audits. Imported by that command alone: it loads the daemon's code and the store. */

/** A progress bar with rate and time left on a terminal; nothing otherwise. */
function progressBar(unit: string): { tick: Progress; stop: () => void } {
  if (!process.stderr.isTTY) return { tick: () => {}, stop: () => {} }
  const bar = new SingleBar({ stream: process.stderr, format: `verifying {bar} {value}/{total} ${unit} | {rate} blocks/s | {txs} tx | eta {eta_formatted}`, hideCursor: true })
  const t0 = performance.now()
  let started = false
  return {
    tick: (h, head, txs) => {
      if (!started) {
        bar.start(head, 0, { rate: 0, txs: 0 })
        started = true
      }
      bar.update(h, { rate: Math.round(h / ((performance.now() - t0) / 1000)), txs })
    },
    stop: () => started && bar.stop(),
  }
}

function summarize(r: AuditReport, secs: number, what: string, json: boolean): void {
  const rate = { blocksPerSec: Math.round(r.blocks / secs), txPerSec: Math.round(r.txs / secs) }
  if (json) printJson({ ...r, seconds: Number(secs.toFixed(3)), ...rate })
  else {
    console.log(`checked ${r.blocks} blocks, ${r.txs} transactions in ${secs.toFixed(1)} s (${rate.blocksPerSec} blocks/s, ${rate.txPerSec} tx/s): ${what}`)
    if (r.ok) console.log(`ledger intact up to block ${r.height}, state root ${r.stateRoot}`)
    else for (const p of r.problems) console.log(`DAMAGED: ${describeProblem(p)}`)
  }
  if (!r.ok) process.exitCode = DAMAGED
}

/**
 * The audit reads every index and history entry of a block at random places in the keyspace:
 * with 64 MB of block cache instead of 8, those point reads took 1.7 s instead of 2.5 s of CPU
 * in a 100,000-transaction audit's profile (its RSS is ~800 MB anyway). They run beside the
 * re-execution, the audit's critical path, so its wall time moves less.
 */
const AUDIT_CACHE_BYTES = 64 * 1024 * 1024

export async function verifyHome(home: string, json: boolean): Promise<void> {
  const cfg = loadConfig(home)
  let store: LedgerStore
  try {
    store = await LedgerStore.open(cfg.dataDir, { cacheBytes: AUDIT_CACHE_BYTES })
  } catch (err) {
    throw new CliError(`cannot open ${cfg.dataDir}: ${(err as Error).message} (is the peer still running? stop it, or use --node)`)
  }
  const bar = progressBar('blocks')
  const t0 = performance.now()
  try {
    const r = await auditStore(store, cfg.genesisDoc, bar.tick)
    bar.stop()
    summarize(r, (performance.now() - t0) / 1000, 'hash chain, certificates, transactions roots, re-execution to every state root, indexes, history, world state', json)
  } finally {
    bar.stop()
    await store.close()
  }
}

export async function verifyNode(node: string, genesisPath: string | undefined, json: boolean): Promise<void> {
  if (genesisPath === undefined) throw new CliError('--node needs --genesis FILE: the peer is audited against a genesis you trust, not one it serves')
  const base = new ApiClient(node).base
  const bar = progressBar('blocks')
  const t0 = performance.now()
  const r = await auditPeer(base, readGenesis(genesisPath), bar.tick)
  bar.stop()
  summarize(r, (performance.now() - t0) / 1000, 'hash chain, certificates, transactions roots, re-execution to every state root (through the API)', json)
}

export async function verifyNodes(list: string, json: boolean): Promise<void> {
  const bases = list.split(',').map((s) => s.trim()).filter(Boolean).map((u) => new ApiClient(u).base)
  if (bases.length < 2) throw new CliError('--nodes: list at least two peer URLs, comma-separated')
  const r = await comparePeers(bases)
  if (json) printJson(r)
  else if ('agreedTo' in r) console.log(`${bases.length} peers hold the same block hashes at every height 0..${r.agreedTo}`)
  else {
    console.log(`DIVERGENT at block ${r.height}: ${r.divergent.join(', ')} disagree${r.divergent.length === 1 ? 's' : ''} with the majority`)
    console.log(table(['peer', `hash of block ${r.height}`], Object.entries(r.hashes)))
  }
  if (!('agreedTo' in r)) process.exitCode = DAMAGED
}
