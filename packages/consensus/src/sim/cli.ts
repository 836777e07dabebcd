#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { runBench } from './bench.js'
import { LIVENESS_KINDS, type FailureKind } from './checker.js'
import { runSimulation, type SimResult } from './simulation.js'

/**
 * `sim --seeds N [--replicas 4] [--byzantine 1] [--seed S] [--verbose]`: runs seeds S, S+1, ...
 * and exits non-zero on any safety or liveness failure, printing how to replay it.
 * `--bench`: ordering throughput of the core alone.
 */
const USAGE = 'usage: sim [--seeds N] [--seed S] [--replicas 4..64] [--byzantine B] [--verbose] | --bench'
const MIN_REPLICAS = 4
const MAX_REPLICAS = 64

function int(v: string | undefined, name: string, fallback?: number): number | undefined {
  if (v === undefined) return fallback
  const x = Number(v)
  if (!Number.isSafeInteger(x) || x < 0) {
    console.error(`--${name} must be a non-negative integer\n${USAGE}`)
    process.exit(2)
  }
  return x
}

function report(r: SimResult): void {
  const f = r.failure!
  const faulty = r.byzantine.map((b) => `r${b.replica}:${b.kinds.join('+')}`).join(' ') || 'none'
  console.log(`\nFAIL seed ${r.seed}: ${f.kind}: ${f.detail}`)
  console.log(`  n=${r.n} byzantine=${faulty} requests=${r.requests} at ${r.simTimeMs} ms simulated`)
  console.log(`  replay: npm run sim -- --seeds 1 --seed ${r.seed} --replicas ${r.n} --byzantine ${r.byzantine.length}`)
  console.log(`  last ${f.trace.length} events:`)
  for (const line of f.trace) console.log(`    ${line}`)
}

function main(): void {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string' }, seed: { type: 'string' }, replicas: { type: 'string' }, byzantine: { type: 'string' },
      bench: { type: 'boolean' }, verbose: { type: 'boolean' }, help: { type: 'boolean' },
    },
  })
  if (values.help) return console.log(USAGE)
  if (values.bench) return runBench()
  const seeds = int(values.seeds, 'seeds', 100)!
  const first = int(values.seed, 'seed', 1)!
  const n = int(values.replicas, 'replicas')
  if (n !== undefined && (n < MIN_REPLICAS || n > MAX_REPLICAS)) {
    console.error(`--replicas must be from ${MIN_REPLICAS} to ${MAX_REPLICAS}\n${USAGE}`)
    process.exit(2)
  }
  const byzantine = int(values.byzantine, 'byzantine')
  const started = performance.now()
  const totals = { messages: 0, views: 0, transfers: 0, restarts: 0, safety: 0, liveness: 0 }
  const byKind = new Map<FailureKind, number>()
  for (let i = 0; i < seeds; i++) {
    const r = runSimulation({ seed: first + i, n, byzantine })
    totals.messages += r.messages
    totals.views += r.views
    totals.transfers += r.transfers
    totals.restarts += r.restarts
    if (values.verbose) console.log(`seed ${r.seed}: n=${r.n} byzantine=${r.byzantine.length} requests=${r.requests} messages=${r.messages} views=${r.views} ${r.failure ? `FAIL ${r.failure.kind}` : 'ok'}`)
    if ((i + 1) % 1000 === 0) console.error(`... ${i + 1} seeds, ${totals.safety} safety violations, ${totals.liveness} liveness failures, ${((performance.now() - started) / 1000).toFixed(0)} s`)
    if (r.failure === null) continue
    if (LIVENESS_KINDS.has(r.failure.kind)) totals.liveness++
    else totals.safety++
    byKind.set(r.failure.kind, (byKind.get(r.failure.kind) ?? 0) + 1)
    report(r)
  }
  const secs = (performance.now() - started) / 1000
  console.log(`seeds run:          ${seeds} (${first}..${first + seeds - 1})`)
  console.log(`messages:           ${totals.messages}`)
  console.log(`views changed:      ${totals.views}`)
  console.log(`state transfers:    ${totals.transfers}`)
  console.log(`restarts:           ${totals.restarts}`)
  console.log(`safety violations:  ${totals.safety}`)
  console.log(`liveness failures:  ${totals.liveness}`)
  for (const [kind, count] of [...byKind].sort()) console.log(`  ${kind}: ${count}`)
  console.log(`time taken:         ${secs.toFixed(1)} s`)
  if (totals.safety + totals.liveness > 0) process.exitCode = 1
}

main()
