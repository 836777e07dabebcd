import type { Command } from 'commander'
import { readKeyFile } from '@vigil/common'
import { ApiClient } from '../client.js'
import { WORKLOADS, runLoad } from '../load-generator.js'
import { CliError, printJson } from '../output.js'
import { chainIdOf, makeTx, sendTx } from '../tx.js'

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('open-loop load of signed kv puts and/or mhealth sleep-diary entries against a network; prints committed tx/s and commit latency')
    .requiredOption('--nodes <urls>', 'peer API URLs, comma-separated (load is spread over them)')
    .option('--rate <n>', 'offered transactions per second', '1000')
    .option('--duration <s>', 'seconds of load', '10')
    .option('--value-bytes <n>', 'bytes per stored value', '64')
    .option('--workload <w>', `${WORKLOADS.join(' | ')}: kv puts, mhealth diary entries (each client its own patient), or both alternating`, 'kv')
    .option('--instance <name>', 'kv instance (deployed with --key if missing)', 'bench')
    .option('--diary-instance <name>', 'mhealth instance (deployed with --key if missing)', 'bench-sleep')
    .option('--key <file>', 'admin key to deploy the instances')
    .option('--json', 'print JSON')
    .action(async (o: { nodes: string; rate: string; duration: string; valueBytes: string; workload: string; instance: string; diaryInstance: string; key?: string; json?: boolean }) => {
      const nodes = o.nodes.split(',').map((s) => s.trim()).filter(Boolean)
      const [rate, durationSec, valueBytes] = [Number(o.rate), Number(o.duration), Number(o.valueBytes)]
      if (!(rate > 0) || !(durationSec > 0) || !(valueBytes >= 0)) throw new CliError('--rate, --duration and --value-bytes must be positive numbers')
      const workload = WORKLOADS.find((w) => w === o.workload)
      if (workload === undefined) throw new CliError(`--workload must be one of ${WORKLOADS.join(', ')}, not "${o.workload}"`)
      const client = new ApiClient(nodes[0]!)
      const chainId = await chainIdOf(client)
      if (o.key !== undefined) {
        const admin = readKeyFile(o.key)
        const instances: Array<[string, string]> = [[o.instance, 'kv'], [o.diaryInstance, 'mhealth']]
        for (const [name, contract] of instances.filter(([, c]) => workload === 'mixed' || c === workload)) {
          const r = (await sendTx(client, makeTx(chainId, admin, '_lifecycle', 'deploy', { name, contract }), true)) as { result?: { ok: boolean; error: string } }
          if (r.result?.ok === false && !String(r.result.error).includes('exists')) throw new CliError(`deploy ${name}: ${r.result.error}`)
        }
      }
      const r = await runLoad({ nodes, chainId, instance: o.instance, diaryInstance: o.diaryInstance, workload, rate, durationSec, valueBytes })
      if (o.json) return printJson(r)
      console.log(
        `offered ${r.offeredPerSec} tx/s for ${durationSec} s (${r.txBytes} B each): committed ${r.committed}/${r.sent} = ${r.committedPerSec} tx/s, failed ${r.failed}; ` +
          `latency p50 ${r.latencyMs.p50} ms, p90 ${r.latencyMs.p90} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms`,
      )
    })
}
