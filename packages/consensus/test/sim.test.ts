import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { runSimulation, type SimOptions, type SimResult } from '../src/sim/simulation.js'

const describeFailure = (r: SimResult): string => `seed ${r.seed} n=${r.n}: ${r.failure!.kind}: ${r.failure!.detail}\n${r.failure!.trace.slice(-20).join('\n')}`

/** The first seed in [from, from + count) whose run fails with `kind`, checked to replay exactly. */
function findFailure(opts: Omit<SimOptions, 'seed'>, from: number, count: number, kind: string): SimResult {
  for (let seed = from; seed < from + count; seed++) {
    const r = runSimulation({ ...opts, seed, traceLength: 40 })
    if (r.failure?.kind !== kind) continue
    assert.deepEqual(runSimulation({ ...opts, seed, traceLength: 40 }).failure, r.failure, 'the failing seed replays exactly')
    return r
  }
  assert.fail(`no seed in ${from}..${from + count - 1} gave a ${kind}`)
}

/** Runs seeds [from, from + count) and asserts that none fails. */
function assertClean(opts: Omit<SimOptions, 'seed'>, from: number, count: number): void {
  const failures: string[] = []
  for (let seed = from; seed < from + count; seed++) {
    const r = runSimulation({ ...opts, seed })
    if (r.failure !== null) failures.push(describeFailure(r))
  }
  assert.deepEqual(failures, [])
}

describe('simulator', () => {
  it('replays a seed exactly', () => {
    const a = runSimulation({ seed: 42, n: 6, byzantine: 1 })
    const b = runSimulation({ seed: 42, n: 6, byzantine: 1 })
    assert.deepEqual(a, b)
  })

  // CI: random seeds with n from 4 to 10, crashes, partitions, drops, a slow replica and up to f
  // Byzantine replicas of every kind; the CLI runs thousands.
  it('keeps safety and liveness for 60 random seeds, n from 4 to 10', () => {
    const failures: string[] = []
    const sizes = new Set<number>()
    for (let seed = 1; seed <= 60; seed++) {
      const r = runSimulation({ seed: 100_000 + seed })
      sizes.add(r.n)
      if (r.failure !== null) failures.push(describeFailure(r))
    }
    assert.deepEqual(failures, [])
    assert.deepEqual([...sizes].sort((a, b) => a - b), [4, 5, 6, 7, 8, 9, 10], 'n is drawn from 4 to 10, not only 3f+1')
  })

  it('keeps safety and liveness under floods of VIEW-CHANGEs for high views and lying STATUS and CHECKPOINTs, within the honest message budget', () => {
    assertClean({ byzantine: 3, kinds: ['floodViewChange', 'lieStatus', 'lieCheckpoint'] }, 200_001, 6)
  })

  it('answers a flood of STATUS at the last checkpoint within the honest message budget', () => {
    assertClean({ byzantine: 3, kinds: ['floodStatus'] }, 400_001, 6)
  })

  it('catches a planted bug: the old quorum 2f+1 (3 at n = 6) forks a network split 3 | 3 with no Byzantine replica', () => {
    const planted = { n: 6, byzantine: 0, split: [0, 1, 2], quorumOverride: 3 }
    const found = findFailure(planted, 1, 10, 'fork')
    assert.match(found.failure!.detail, /^height \d+: replica \d executed batch [0-9a-f]+, replica \d batch [0-9a-f]+$/)
    // The same seed and split with quorumSize(6) = 4: neither side commits alone, so nothing forks.
    const fixed = runSimulation({ ...planted, seed: found.seed, quorumOverride: undefined })
    assert.equal(fixed.failure, null, fixed.failure === null ? '' : describeFailure(fixed))
  })

  it('catches a planted bug: a quorum of 2f (2 at n = 4) forks the chain under an equivocating primary', () => {
    findFailure({ n: 4, byzantine: 1, quorumOverride: 2 }, 1, 300, 'fork')
  })

  it('executes only submitted bytes when liars substitute payloads in COMMITTED, PRE-PREPARE and the batches fetched for VIEW-CHANGE and NEW-VIEW', () => {
    assertClean({ byzantine: 3, kinds: ['substituteCommitted', 'substitutePrePrepare', 'substituteFetched'] }, 300_001, 8)
  })

  // Seed 10 found it before per-request timers: the request timer restarted on any executed batch,
  // so a censor that is primary of view 0 under steady traffic was never replaced.
  it('replaces a primary that censors one client while proposing the others', () => {
    assertClean({ n: 4, byzantine: 1, kinds: ['censor'] }, 1, 12)
  })

  it('keeps safety and liveness against doctored VIEW-CHANGEs and NEW-VIEWs', () => {
    assertClean({ byzantine: 3, kinds: ['doctorViewChange', 'doctorNewView', 'equivocate'] }, 500_001, 8)
  })

  it('catches a planted bug: request ids that leave part of the payload out let a substituted COMMITTED payload diverge', () => {
    const found = findFailure({ byzantine: 1, kinds: ['substituteCommitted'], partialRequestIds: true }, 1, 20, 'divergence')
    assert.match(found.failure!.detail, /^height \d+: replicas \d+ and \d+ executed batch [0-9a-f]+ with different request bytes/)
  })
})
