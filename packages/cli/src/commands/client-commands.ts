import type { Command } from 'commander'
import { readKeyFile } from '@vigil/common'
import { ApiClient } from '../client.js'
import { CliError, parseJsonArg, printJson } from '../output.js'
import { fetchBundle, writeBundle } from '../proof.js'
import { fetchStatus, statusTable } from '../status.js'
import { chainIdOf, makeTx, sendTx } from '../tx.js'

/** deploy, invoke, query, status: clients of a running peer's HTTP API. */

const DEFAULT_NODE = process.env.VIGIL_NODE ?? 'http://127.0.0.1:8700'

interface ClientOpts {
  node: string
  key?: string
  wait?: boolean
  json?: boolean
}

const withNode = (c: Command) => c.option('--node <url>', 'peer API URL (env VIGIL_NODE)', DEFAULT_NODE).option('--json', 'print JSON for scripts')
const withKey = (c: Command) =>
  c
    .option('--key <file>', 'signing key file (env VIGIL_KEY_FILE)', process.env.VIGIL_KEY_FILE)
    .option('--wait', 'wait until the transaction is committed', false)

async function submit(o: ClientOpts, instance: string, method: string, args: Record<string, unknown>): Promise<void> {
  if (o.key === undefined) throw new Error('--key: a signing key file is required (vigil keygen --out FILE makes one)')
  const key = readKeyFile(o.key)
  const client = new ApiClient(o.node)
  const tx = makeTx(await chainIdOf(client), key, instance, method, args)
  const r = await sendTx(client, tx, o.wait === true)
  if (o.json) return printJson(r)
  if ('height' in r) {
    const res = r.result
    console.log(`tx ${r.txId} committed in block ${r.height} at position ${r.index}: ${res.ok ? 'ok' : `failed (code ${res.code}: ${res.error})`}`)
    if (res.ok && res.ret !== null) console.log(JSON.stringify(res.ret))
    if (!res.ok) process.exitCode = 1
  } else console.log(`tx ${r.txId} accepted`)
}

export function registerClientCommands(program: Command): void {
  withKey(withNode(program.command('deploy')))
    .description('deploy a contract instance (admins only)')
    .requiredOption('--name <instance>', 'instance name')
    .requiredOption('--contract <type>', 'built-in contract type: kv | mhealth')
    .option('--init <json>', 'init arguments as a JSON object (kv: initial values)')
    .action(async (o: ClientOpts & { name: string; contract: string; init?: string }) => {
      const args: Record<string, unknown> = { name: o.name, contract: o.contract }
      if (o.init !== undefined) args.init = parseJsonArg(o.init, '--init')
      await submit(o, '_lifecycle', 'deploy', args)
    })

  withKey(withNode(program.command('invoke')))
    .description('run a contract method in a signed transaction')
    .requiredOption('--name <instance>', 'instance name')
    .requiredOption('--method <method>', 'method name')
    .option('--args <json>', 'named arguments as one JSON object', '{}')
    .action(async (o: ClientOpts & { name: string; method: string; args: string }) => {
      await submit(o, o.name, o.method, parseJsonArg(o.args, '--args'))
    })

  withNode(program.command('query'))
    .description('read committed state: a contract query (--method), or one key (--key), with a checkable proof (--proof)')
    .requiredOption('--name <instance>', 'instance name')
    .option('--method <method>', 'query method name')
    .option('--args <json>', 'named arguments as one JSON object', '{}')
    .option('--key <key>', 'read this state key instead of running a query')
    .option('--proof', 'with --key: fetch a proof bundle (Merkle proof, header, certificate)')
    .option('--out <file>', 'with --proof: write the bundle to this file')
    .option('--genesis <file>', 'with --proof: verify it against this genesis')
    .action(async (o: ClientOpts & { name: string; method?: string; args: string; key?: string; proof?: boolean; out?: string; genesis?: string }) => {
      if ((o.method === undefined) === (o.key === undefined)) throw new CliError('query: give exactly one of --method or --key')
      if (o.key !== undefined && o.proof) {
        const bundle = await fetchBundle(o.node, o.name, o.key)
        const line = o.out === undefined ? null : writeBundle(bundle, o.out, o.genesis)
        if (o.json || o.out === undefined) printJson(bundle)
        if (o.out !== undefined) console.error(line ?? `proof bundle written to ${o.out}`)
        return
      }
      if (o.key !== undefined) {
        const r = await new ApiClient(o.node).get<{ value: unknown; height: number }>(`/v1/state/${encodeURIComponent(o.name)}/${encodeURIComponent(o.key)}`)
        if (o.json) return printJson(r)
        console.log(JSON.stringify(r.value, null, 2))
        console.error(`(at height ${r.height})`)
        return
      }
      const r = await new ApiClient(o.node).post<{ value: unknown; height: number }>(
        `/v1/query/${encodeURIComponent(o.name)}/${encodeURIComponent(o.method!)}`,
        parseJsonArg(o.args, '--args'),
      )
      if (o.json) return printJson(r)
      console.log(JSON.stringify(r.value, null, 2))
      console.error(`(at height ${r.height})`)
    })

  withNode(program.command('status'))
    .description('show peers: height, last block hash, view, primary, syncing (--node URL1,URL2,... for several)')
    .action(async (o: ClientOpts) => {
      const urls = o.node.split(',').map((s) => s.trim()).filter(Boolean)
      for (const u of urls) new ApiClient(u) // refuses a malformed URL before anything is fetched
      const rows = await Promise.all(urls.map(async (u) => ({ url: u, status: await fetchStatus(u) })))
      if (o.json) return printJson(rows)
      console.log(statusTable(rows))
    })
}
