import { describe, it } from 'node:test'
import { netnsSkipReason, netnsTestnet } from '../src/netns-testnet.js'
import { withTestnet } from '../src/scenarios/peers.js'
import { primaryPartitionScenario } from '../src/scenarios/primary-partition.js'
import { rollingRestartScenario } from '../src/scenarios/rolling-restart.js'
import { seedScenario } from '../src/scenarios/seed.js'
import { splitBrainScenario } from '../src/scenarios/split-brain.js'

/** Issue 7: fault scenarios on real peer processes in network namespaces, partitions by iptables. */
describe('fault scenarios on the network-namespace testnet', { skip: netnsSkipReason, timeout: 900_000 }, () => {
  const run = (name: string, scenario: Parameters<typeof withTestnet>[1]) =>
    it(name, { timeout: 180_000 }, async (ctx) => {
      const report = await withTestnet(netnsTestnet, scenario)
      ctx.diagnostic(JSON.stringify(report))
    })
  run('1. VP1 isolated, healed, catches up; the primary crashes; VP1 signs the next quorums', seedScenario)
  run('2. partition 2|2: no commits, clients time out; heal: commits resume, no fork', splitBrainScenario)
  run('3. the primary partitioned alone: view change; healed, it follows the new view', primaryPartitionScenario)
  run('4. rolling restarts of all peers under load: no acknowledged transaction lost', rollingRestartScenario)
})
