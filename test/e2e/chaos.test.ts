import { describe, it } from 'node:test'
import { parseArgs } from 'node:util'
import { netnsSkipReason, netnsTestnet } from '../src/netns-testnet.js'
import { chaosScenario } from '../src/scenarios/chaos.js'
import { withTestnet } from '../src/scenarios/peers.js'

/**
 * Scenario 5 on the network-namespace testnet: a short randomised run in the test suite, a long
 * one with `pnpm test:chaos --minutes 10`. Replay a failure with VIGIL_CHAOS_SEED=<seed printed>.
 */
const { values } = parseArgs({ args: process.argv.slice(2), options: { minutes: { type: 'string' } }, strict: false })
const minutes = Number(values.minutes ?? process.env.VIGIL_CHAOS_MINUTES ?? 0)
const seed = Number(process.env.VIGIL_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31))
const rounds = minutes > 0 ? Number.MAX_SAFE_INTEGER : Number(process.env.VIGIL_CHAOS_ROUNDS ?? 6)
const budgetMs = minutes > 0 ? minutes * 60_000 : 0

describe('randomised faults (nemesis) on the network-namespace testnet', { skip: netnsSkipReason }, () => {
  it(`seed ${seed}, ${minutes > 0 ? `${minutes} min` : `${rounds} rounds`}: no acknowledged transaction lost, no fork`, { timeout: budgetMs + 300_000 }, async (ctx) => {
    console.log(`chaos seed ${seed} (replay: VIGIL_CHAOS_SEED=${seed})`)
    const report = await withTestnet(netnsTestnet, (t) =>
      chaosScenario(t, { seed, rounds, deadline: budgetMs > 0 ? Date.now() + budgetMs : undefined, log: (l) => ctx.diagnostic(l) }),
    )
    console.log(`chaos result ${JSON.stringify(report)}`)
    ctx.diagnostic(JSON.stringify(report))
  })
})
