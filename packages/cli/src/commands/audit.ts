import { readFileSync, writeFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import type { Command } from 'commander'
import { SingleBar } from 'cli-progress'
import { ValidationError, parseGenesis, type Genesis } from '@vigil/common'
import { LedgerStore } from '@vigil/storage'
import {
  auditPeer, auditStore, buildBundle, bundleText, comparePeers, describeFacts, describeProblem, loadConfig, verifyBundle, verifyBundleText,
  type AuditReport, type EntryRecord, type ProofBundle, type Progress,
} from '@vigil/node'
import { ApiClient } from '../client.js'
import { CliError, printJson, table } from '../output.js'

/** prove, check-proof, history, verify: tamper evidence a third party can check. */

const DEFAULT_NODE = process.env.VIGIL_NODE ?? 'http://127.0.0.1:8700'
const DAMAGED = 2

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new CliError(`${what} ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
}

export function readGenesis(path: string): Genesis {
  try {
    return parseGenesis(JSON.parse(readText(path, '--genesis')))
  } catch (err) {
    if (err instanceof CliError) throw err
    throw new CliError(`--genesis ${path}: ${(err as Error).message}`)
  }
}

/** GET /v1/state/...?proof=true turned into a bundle (shape-checked; check-proof checks the signatures). */
export async function fetchBundle(node: string, instance: string, key: string): Promise<ProofBundle> {
  const answer = await new ApiClient(node).get(`/v1/state/${encodeURIComponent(instance)}/${encodeURIComponent(key)}?proof=true`)
  try {
    return buildBundle(instance, key, answer)
  } catch (err) {
    throw new CliError(`${node} answered a malformed proof: ${(err as Error).message}`)
  }
}

/** Writes a bundle file; with a genesis, verifies it first and returns the human line. */
export function writeBundle(bundle: ProofBundle, out: string, genesisPath?: string): string | null {
  const line = genesisPath === undefined ? null : describeFacts(verifyBundle(bundle, readGenesis(genesisPath)))
  writeFileSync(out, bundleText(bundle))
  return line
}

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

async function verifyHome(home: string, json: boolean): Promise<void> {
  const cfg = loadConfig(home)
  let store: LedgerStore
  try {
    store = await LedgerStore.open(cfg.dataDir)
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

async function verifyNode(node: string, genesisPath: string | undefined, json: boolean): Promise<void> {
  if (genesisPath === undefined) throw new CliError('--node needs --genesis FILE: the peer is audited against a genesis you trust, not one it serves')
  const base = new ApiClient(node).base
  const bar = progressBar('blocks')
  const t0 = performance.now()
  const r = await auditPeer(base, readGenesis(genesisPath), bar.tick)
  bar.stop()
  summarize(r, (performance.now() - t0) / 1000, 'hash chain, certificates, transactions roots, re-execution to every state root (through the API)', json)
}

async function verifyNodes(list: string, json: boolean): Promise<void> {
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

interface HistoryVersion {
  height: number
  index: number
  txId: string
  signer: string | null
  time: string | null
  value: unknown
  deleted: boolean
}

async function keyHistory(client: ApiClient, instance: string, key: string): Promise<HistoryVersion[]> {
  const out: HistoryVersion[] = []
  const seen = new Set<string>()
  let after: number | undefined
  for (;;) {
    const q = `limit=1000${after === undefined ? '' : `&afterHeight=${after}`}`
    const page = await client.get<{ versions: HistoryVersion[] }>(`/v1/state/${encodeURIComponent(instance)}/${encodeURIComponent(key)}/history?${q}`)
    for (const v of page.versions) if (!seen.has(`${v.height}/${v.index}`) && seen.add(`${v.height}/${v.index}`)) out.push(v)
    if (page.versions.length < 1000) return out
    // afterHeight skips whole heights: start again one below the last to keep its other writes.
    after = page.versions[page.versions.length - 1]!.height - 1
  }
}

async function patientEntries(client: ApiClient, instance: string, patientId: string): Promise<EntryRecord[]> {
  const out: EntryRecord[] = []
  let after = 0
  for (;;) {
    const r = await client.post<{ value: { entries: EntryRecord[]; next: number | null } }>(`/v1/query/${encodeURIComponent(instance)}/entries`, { patientId, after })
    out.push(...r.value.entries)
    if (r.value.next === null) return out
    after = r.value.next
  }
}

export function registerAuditCommands(program: Command): void {
  program
    .command('prove')
    .description('write a self-contained proof bundle of one state key (check it offline with check-proof)')
    .option('--node <url>', 'peer API URL (env VIGIL_NODE)', DEFAULT_NODE)
    .requiredOption('--name <instance>', 'instance name')
    .requiredOption('--key <key>', 'state key')
    .requiredOption('--out <file>', 'bundle file to write')
    .option('--genesis <file>', 'verify the bundle against this genesis before writing it')
    .action(async (o: { node: string; name: string; key: string; out: string; genesis?: string }) => {
      const line = writeBundle(await fetchBundle(o.node, o.name, o.key), o.out, o.genesis)
      console.log(line ?? `proof bundle written to ${o.out} (check it with: vigil check-proof ${o.out} --genesis genesis.json)`)
    })

  program
    .command('check-proof')
    .description('verify a proof bundle offline against a genesis: certificate signatures, header hash, Merkle path')
    .argument('<file>', 'proof bundle (from vigil prove or query --proof)')
    .requiredOption('--genesis <file>', 'the genesis.json you trust')
    .option('--json', 'print JSON for scripts')
    .action((file: string, o: { genesis: string; json?: boolean }) => {
      const genesis = readGenesis(o.genesis)
      const text = readText(file, 'bundle')
      try {
        const facts = verifyBundleText(text, genesis)
        if (o.json) printJson({ ok: true, ...facts })
        else console.log(describeFacts(facts))
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err
        throw new CliError(`proof REJECTED: ${err.message}`, DAMAGED)
      }
    })

  program
    .command('history')
    .description('every version of a key (tx id, signer, block, time), oldest first; or a patient\'s diary entries (--patient)')
    .option('--node <url>', 'peer API URL (env VIGIL_NODE)', DEFAULT_NODE)
    .requiredOption('--name <instance>', 'instance name')
    .option('--key <key>', 'state key')
    .option('--patient <id>', 'mhealth: the patient whose entries to list, in order')
    .option('--json', 'print JSON for scripts')
    .action(async (o: { node: string; name: string; key?: string; patient?: string; json?: boolean }) => {
      if ((o.key === undefined) === (o.patient === undefined)) throw new CliError('history: give exactly one of --key or --patient')
      const client = new ApiClient(o.node)
      if (o.patient !== undefined) {
        const entries = await patientEntries(client, o.name, o.patient)
        if (o.json) return printJson(entries)
        console.log(table(['n', 'date', 'block', 'time', 'tx', 'author'], entries.map((e) => [e.n, e.date, e.height, new Date(e.time).toISOString(), e.tx, e.author])))
        return
      }
      const versions = await keyHistory(client, o.name, o.key!)
      if (o.json) return printJson(versions)
      console.log(table(['block', 'tx#', 'time', 'tx', 'signer', 'value'], versions.map((v) => [v.height, v.index, v.time ?? '-', v.txId, v.signer ?? '-', v.deleted ? '(deleted)' : JSON.stringify(v.value)])))
    })

  program
    .command('verify')
    .description('full audit of a ledger; exit 0 when intact, 2 naming the first bad block, transaction or key')
    .option('--home <dir>', 'a stopped peer\'s home directory (reads its LevelDB directly)')
    .option('--node <url>', 'a running peer\'s API (needs --genesis)')
    .option('--nodes <urls>', 'compare several peers\' block hashes at every height')
    .option('--genesis <file>', 'the genesis.json you trust (for --node)')
    .option('--json', 'print JSON for scripts')
    .action(async (o: { home?: string; node?: string; nodes?: string; genesis?: string; json?: boolean }) => {
      const modes = [o.home, o.node, o.nodes].filter((m) => m !== undefined).length
      if (modes !== 1) throw new CliError('verify: give exactly one of --home DIR, --node URL or --nodes URL1,URL2,...')
      if (o.home !== undefined) await verifyHome(o.home, o.json === true)
      else if (o.node !== undefined) await verifyNode(o.node, o.genesis, o.json === true)
      else await verifyNodes(o.nodes!, o.json === true)
    })
}
