import { describe, it } from 'node:test'
import { dockerSkipReason, dockerTestnet } from '../src/docker-testnet.js'
import { withTestnet } from '../src/scenarios/peers.js'
import { seedScenario } from '../src/scenarios/seed.js'
import { splitBrainScenario } from '../src/scenarios/split-brain.js'

const skip = await dockerSkipReason()

/** Issue 7: the same fault scenarios on the docker-compose testnet (containers, partitions by nsenter + iptables). */
describe('fault scenarios on the docker-compose testnet', { skip, timeout: 900_000 }, () => {
  const run = (name: string, scenario: Parameters<typeof withTestnet>[1]) =>
    it(name, { timeout: 420_000 }, async (ctx) => {
      const report = await withTestnet(dockerTestnet, scenario)
      ctx.diagnostic(JSON.stringify(report))
    })
  run('1. VP1 isolated, healed, catches up; the primary crashes; VP1 signs the next quorums', seedScenario)
  run('2. partition 2|2: no commits, clients time out; heal: commits resume, no fork', splitBrainScenario)
})
