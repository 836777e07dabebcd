import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, describe, it } from 'node:test'
import { equalBytes, headerHash } from '@vigil/common'
import { LedgerStore } from '../src/index.js'
import { tempDir } from './helpers.js'

const CHILD = fileURLToPath(new URL('./fixtures/commit-loop.js', import.meta.url))
const ITERATIONS = 25
const WAIT_MS = 15_000

async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))
  try {
    return await Promise.race([p, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Starts the committing child (extra args: mode, source store), lets it run for `runMs` after its first commit, then SIGKILLs it. */
async function runAndKill(dir: string, runMs: number, args: string[] = []): Promise<{ lastReported: number }> {
  const child = spawn(process.execPath, [CHILD, dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  try {
    const started = Date.now()
    while (!/head \d+\n[\s\S]*head \d+\n/.test(out)) {
      if (child.exitCode !== null) throw new Error(`child exited early (${child.exitCode}): ${err}`)
      if (Date.now() - started > WAIT_MS) throw new Error(`child made no commit within ${WAIT_MS} ms: ${err}`)
      await new Promise((r) => setTimeout(r, 5))
    }
    await new Promise((r) => setTimeout(r, runMs))
  } finally {
    child.kill('SIGKILL')
    await withTimeout(exited, WAIT_MS, `child ${child.pid} did not exit after SIGKILL`)
  }
  const heads = [...out.matchAll(/head (\d+)\n/g)].map((m) => Number(m[1]))
  return { lastReported: heads[heads.length - 1]! }
}

/**
 * Kills the child ITERATIONS times; after each, the store must reopen undamaged at a boundary of
 * `group` blocks, with every reported commit and at most `inFlight` more blocks.
 */
async function killLoop(dir: string, args: string[], group: number, inFlight: number): Promise<void> {
  let previous = -1
  for (let i = 0; i < ITERATIONS; i++) {
    const { lastReported } = await runAndKill(dir, Math.floor(Math.random() * 120), args)
    const store = await LedgerStore.open(dir)
    try {
      assert.equal(store.damage(), null, `iteration ${i}: store damaged`)
      const head = store.head()!
      // Every reported commit was durable; at most the ones in flight may also have landed, whole.
      assert.ok(head.height >= lastReported && head.height <= lastReported + inFlight, `iteration ${i}: head ${head.height}, child reported ${lastReported}`)
      assert.equal(head.height % group, 0, `iteration ${i}: head ${head.height} is inside a group of ${group}`)
      assert.ok(head.height > previous, `iteration ${i}: no progress from ${previous}`)
      const block = (await store.getBlock(head.height))!
      assert.ok(equalBytes(headerHash(block.header), head.hash), `iteration ${i}: head block does not hash to the head`)
      assert.ok(equalBytes(block.header.stateRoot, head.stateRoot))
      assert.equal(await store.getBlock(head.height + 1), null)
      // Full check every few rounds and at the end; a cheap one (state and indexes of the last blocks) otherwise.
      const full = i % 5 === 4 || i === ITERATIONS - 1
      const report = await store.verifyStore(full ? {} : { fromHeight: Math.max(0, head.height - 3 * group) })
      assert.deepEqual(report, { ok: true, height: head.height }, `iteration ${i}: ${JSON.stringify(report)}`)
      previous = head.height
    } finally {
      await store.close()
    }
  }
}

describe('kill during commit', () => {
  const t = tempDir()
  after(() => t.cleanup())

  it(`reopens at a complete block boundary after ${ITERATIONS} SIGKILLs`, { timeout: 240_000 }, async () => {
    await killLoop(join(t.dir, 'single'), [], 1, 1)
  })

  it(`reopens at a complete block boundary after ${ITERATIONS} SIGKILLs during pipelined commits`, { timeout: 240_000 }, async () => {
    await killLoop(join(t.dir, 'pipelined'), ['pipelined'], 1, 2)
  })

  it(`reopens at a complete group boundary after ${ITERATIONS} SIGKILLs during commitBlocks`, { timeout: 240_000 }, async () => {
    await killLoop(join(t.dir, 'group'), ['group', join(t.dir, 'source')], 3, 3)
  })
})
