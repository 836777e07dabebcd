import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { runSimulation } from '../src/sim/simulation.js'

describe('simulator', () => {
  it('replays a seed exactly', () => {
    const a = runSimulation({ seed: 42, n: 4, byzantine: 1 })
    const b = runSimulation({ seed: 42, n: 4, byzantine: 1 })
    assert.deepEqual(a, b)
  })

  // CI: 500 seeds with crashes, partitions, drops, a slow replica and up to f Byzantine replicas.
  for (const [n, seeds] of [[4, 300], [7, 200]] as const) {
    it(`keeps safety and liveness for ${seeds} random seeds with n=${n}`, () => {
      const failures: string[] = []
      for (let seed = 1; seed <= seeds; seed++) {
        const r = runSimulation({ seed: 10_000 * n + seed, n })
        if (r.failure !== null) failures.push(`seed ${r.seed}: ${r.failure.kind}: ${r.failure.detail}\n${r.failure.trace.slice(-20).join('\n')}`)
      }
      assert.deepEqual(failures, [])
    })
  }

  it('catches a planted bug: a 2f quorum for PREPARE and COMMIT forks the chain under an equivocating primary', () => {
    let found: ReturnType<typeof runSimulation> | null = null
    for (let seed = 1; seed <= 300 && found === null; seed++) {
      const r = runSimulation({ seed, n: 4, byzantine: 1, quorumOverride: 2, traceLength: 40 })
      if (r.failure !== null && r.failure.kind === 'fork') found = r
    }
    assert.ok(found !== null, 'no seed in 1..300 exposed the planted bug')
    assert.ok(found.failure!.trace.length > 0)
    const again = runSimulation({ seed: found.seed, n: 4, byzantine: 1, quorumOverride: 2, traceLength: 40 })
    assert.deepEqual(again.failure, found.failure, 'the failing seed replays exactly')
  })
})
