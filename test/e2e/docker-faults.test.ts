import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import { describe, it } from 'node:test'
import { DOCKER_PROJECT, dockerSkipReason, dockerTestnet } from '../src/docker-testnet.js'
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
  it('0. each peer runs as an unprivileged numeric user with no capabilities, owning /data, its 0600 key readable to it alone', { timeout: 420_000 }, async () => {
    await withTestnet(dockerTestnet, async (t) => {
      for (let i = 0; i < t.size; i++) {
        // The peer's process as the host sees it, and its root filesystem through /proc.
        const pid = execFileSync('docker', ['inspect', '-f', '{{.State.Pid}}', `${DOCKER_PROJECT}_vp${i}_1`], { encoding: 'utf8' }).trim()
        const status = readFileSync(`/proc/${pid}/status`, 'utf8')
        const uid = Number(/^Uid:\s+(\d+)/m.exec(status)![1])
        assert.notEqual(uid, 0, `vp${i} runs as root`)
        assert.match(status, /^CapEff:\s+0+$/m, `vp${i} has capabilities`)
        assert.equal(statSync(`/proc/${pid}/root/data`).uid, uid, `vp${i}'s /data is not its own`)
        const key = statSync(`/proc/${pid}/root/vigil/vp${i}/node-key.json`)
        assert.equal(key.mode & 0o777, 0o600, `vp${i}'s key mode`)
        assert.equal(key.uid, uid, `vp${i}'s key is not readable to its user`)
        assert.equal((await t.status(i))?.height !== undefined, true, `vp${i} does not answer`)
      }
    })
  })
  run('1. VP1 isolated, healed, catches up; the primary crashes; VP1 signs the next quorums', seedScenario)
  run('2. partition 2|2: no commits, clients time out; heal: commits resume, no fork', splitBrainScenario)
})
