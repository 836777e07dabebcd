import type { Command } from 'commander'
import { ValidationError } from '@vigil/common'
import type { EntryRecord } from '@vigil/node'
import { describeFacts, verifyBundleText } from '@vigil/node/proof'
import { ApiClient } from '../client.js'
import { CliError, DAMAGED, printJson, table } from '../output.js'
import { fetchBundle, readGenesis, readText, writeBundle } from '../proof.js'

/** prove, check-proof, history, verify: tamper evidence a third party can check. */

const DEFAULT_NODE = process.env.VIGIL_NODE ?? 'http://127.0.0.1:8700'

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
      // Loaded here, not at start-up: an audit needs the daemon's code and the store.
      const { verifyHome, verifyNode, verifyNodes } = await import('../verify.js')
      if (o.home !== undefined) await verifyHome(o.home, o.json === true)
      else if (o.node !== undefined) await verifyNode(o.node, o.genesis, o.json === true)
      else await verifyNodes(o.nodes!, o.json === true)
    })
}
