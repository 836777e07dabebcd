import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { it } from 'node:test'
import { BENCH_CHANNEL, BENCH_COUNT } from './p2p-helpers/bench-peer.js'
import { bytes, freePorts, linksFor, Started, text, validatorSet, waitFor } from './p2p-helpers/cluster.js'

/** Resolves when `line` appears on the stream; rejects after timeoutMs or if the stream ends first. */
function waitForLine(out: Readable, line: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = ''
    const done = (err?: Error): void => {
      clearTimeout(timer)
      out.off('data', onData).off('end', onEnd)
      if (err === undefined) resolve()
      else reject(err)
    }
    const onData = (chunk: Buffer): void => {
      seen = (seen + chunk.toString()).slice(-1024)
      if (seen.split('\n').includes(line)) done()
    }
    const onEnd = (): void => done(new Error(`child exited before printing "${line}"`))
    const timer = setTimeout(() => done(new Error(`child did not print "${line}" within ${timeoutMs} ms`)), timeoutMs)
    out.on('data', onData).on('end', onEnd)
  })
}

const FRAMES = 100_000
const FRAME_BYTES = 200

it('measures frames/s of 200 B frames between two PeerLinks in two processes', { timeout: 60_000 }, async (t) => {
  const ports = await freePorts(2)
  const started = new Started()
  // Without NODE_TEST_CONTEXT, or the child would believe it is a test-runner subprocess.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env
  const child = spawn(process.execPath, [fileURLToPath(new URL('./p2p-helpers/bench-peer.js', import.meta.url))], {
    env: { ...env, VIGIL_P2P_BENCH_CHILD: JSON.stringify({ ports, self: 1 }) },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  started.add({ stop: () => void child.kill() })
  try {
    await waitForLine(child.stdout, 'ready', 10_000)
    const links = started.add(linksFor(validatorSet(ports), 0))
    const ch = links.channel(BENCH_CHANNEL, { maxFrameBytes: 4096, queueMax: 8192 })
    await links.start()
    await waitFor('link to the child', () => links.isConnected(1))
    const count = async (): Promise<number> => Number(text(await links.request(1, BENCH_COUNT, bytes('count'), { timeoutMs: 2_000, maxResponseBytes: 32 })))

    const frame = new Uint8Array(FRAME_BYTES).fill(7)
    const t0 = performance.now()
    let sent = 0
    let refusals = 0
    while (sent < FRAMES) {
      if (ch.send(1, frame)) sent++
      else {
        refusals++ // queue full: yield so the pump drains it
        await new Promise(setImmediate)
      }
    }
    let received = 0
    const deadline = Date.now() + 30_000
    while ((received = await count()) < FRAMES) {
      if (Date.now() > deadline) throw new Error(`child received ${received}/${FRAMES} frames in 30 s`)
      await new Promise((r) => setTimeout(r, 5))
    }
    const seconds = (performance.now() - t0) / 1000
    const rate = Math.round(FRAMES / seconds)
    const msg = `p2p throughput: ${FRAMES} x ${FRAME_BYTES} B frames, 2 processes: ${rate} frames/s (${((rate * FRAME_BYTES) / 1e6).toFixed(1)} MB/s), ${refusals} queue-full refusals while sending`
    t.diagnostic(msg)
    console.log(msg)
    // Sequential request/response round trips (200 B request), for a latency figure.
    const rtts: number[] = []
    for (let i = 0; i < 2_000; i++) {
      const r0 = performance.now()
      await count()
      rtts.push(performance.now() - r0)
    }
    rtts.sort((a, b) => a - b)
    const pct = (p: number): string => `${(rtts[Math.floor(p * (rtts.length - 1))]! * 1000).toFixed(0)} us`
    const rttMsg = `p2p request round trip, 2 processes: p50 ${pct(0.5)}, p99 ${pct(0.99)} (${rtts.length} sequential requests)`
    t.diagnostic(rttMsg)
    console.log(rttMsg)
    assert.equal(received, FRAMES, 'no frame lost')
    assert.ok(rate > 1_000, `rate ${rate}/s is implausibly low`)
  } finally {
    await started.stopAll()
  }
})
