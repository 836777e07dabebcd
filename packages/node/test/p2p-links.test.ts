import assert from 'node:assert/strict'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { afterEach, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import '../src/p2p/polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { FrameTooLargeError, PeerNotConnectedError, RequestTimeoutError } from '../src/p2p/errors.js'
import { encodeFrame } from '../src/p2p/framing.js'
import type { PeerLinks } from '../src/p2p/links.js'
import { bytes, freePorts, linksFor, Started, text, validatorSet, waitFor } from './p2p-helpers/cluster.js'

const PBFT = '/vigil/pbft/2'
const SYNC = '/vigil/sync/2'
const started = new Started()
afterEach(() => started.stopAll())

type Received = Array<{ from: number; text: string }>

/** Write syscalls this process made so far (both test peers run in it). */
const writeSyscalls = (): number => Number(/^syscw: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1])

/** A started PeerLinks with a PBFT channel whose frames are recorded. */
function node(set: ReturnType<typeof validatorSet>, i: number, maxFrameBytes = 64 * 1024) {
  const links = started.add(linksFor(set, i))
  const pbft = links.channel(PBFT, { maxFrameBytes, queueMax: 1024 })
  const got: Received = []
  pbft.onFrame((from, frame) => got.push({ from, text: text(frame) }))
  return { links, pbft, got }
}

const fullyConnected = (nodes: Array<{ links: PeerLinks }>): boolean => nodes.every((n) => n.links.connectedPeers().length === nodes.length - 1)

describe('p2p links', { timeout: 60_000 }, () => {
  it('4 validators started in any order link up; frames go both ways, attributed, and broadcast reaches all', async () => {
    const set = validatorSet(await freePorts(4))
    const nodes = [0, 1, 2, 3].map((i) => node(set, i))
    const events: string[] = []
    nodes[0]!.links.onPeer((peer, up) => events.push(`${peer}:${up}`))
    // Start in reverse order with gaps, so early dials fail and must be retried with backoff.
    for (const i of [3, 1, 0, 2]) {
      await nodes[i]!.links.start()
      await sleep(150)
    }
    await waitFor('all validators linked', () => fullyConnected(nodes))
    assert.deepEqual(nodes[0]!.links.connectedPeers(), [1, 2, 3])
    assert.deepEqual([...events].sort(), ['1:true', '2:true', '3:true'])

    assert.equal(nodes[0]!.pbft.send(2, bytes('0->2')), true)
    assert.equal(nodes[2]!.pbft.send(0, bytes('2->0')), true)
    for (const n of nodes) assert.equal(n.pbft.broadcast(bytes(`all from ${n.links.self}`)), 3)
    await waitFor('broadcasts delivered', () => nodes.every((n) => n.got.length >= 3 + (n.links.self === 0 || n.links.self === 2 ? 1 : 0)))
    assert.deepEqual(nodes[2]!.got.filter((g) => g.text === '0->2'), [{ from: 0, text: '0->2' }])
    assert.deepEqual(nodes[0]!.got.filter((g) => g.text === '2->0'), [{ from: 2, text: '2->0' }])
    for (const n of nodes) {
      const others = n.got.filter((g) => g.text.startsWith('all from')).map((g) => `${g.from}:${g.text}`).sort()
      assert.deepEqual(others, [0, 1, 2, 3].filter((i) => i !== n.links.self).map((i) => `${i}:all from ${i}`))
    }
    // Order is kept per peer and channel, and many small frames coalesce.
    for (let k = 0; k < 500; k++) nodes[1]!.pbft.send(3, bytes(`seq ${k}`))
    await waitFor('500 ordered frames', () => nodes[3]!.got.filter((g) => g.from === 1 && g.text.startsWith('seq')).length === 500)
    assert.deepEqual(nodes[3]!.got.filter((g) => g.from === 1 && g.text.startsWith('seq')).map((g) => g.text), Array.from({ length: 500 }, (_, k) => `seq ${k}`))
    const c = nodes[1]!.links.counters().channels[PBFT]!
    assert.equal(c.framesOut, 503)
    assert.equal(Object.values(c.drops).reduce((a, b) => a + b, 0), 0)
    assert.throws(() => nodes[1]!.pbft.send(1, bytes('self')), RangeError)
  })

  it('a small frame costs one write syscall: Noise\'s chunks go out together, and yamux does not answer each frame with a window update', async (t) => {
    if (!existsSync('/proc/self/io')) return t.skip('needs /proc/self/io (Linux)')
    const set = validatorSet(await freePorts(2))
    const [a, b] = [0, 1].map((i) => node(set, i))
    await Promise.all([a!.links.start(), b!.links.start()])
    await waitFor('linked', () => fullyConnected([a!, b!]))
    const send = async (k: number): Promise<void> => {
      a!.pbft.send(1, bytes(`frame ${k}`))
      await waitFor(`frame ${k}`, () => b!.got.length === k + 1, 5_000, 1)
    }
    await send(0)
    // One frame at a time (each delivered before the next), so the channel cannot coalesce them.
    const FRAMES = 200
    const before = writeSyscalls()
    for (let k = 1; k <= FRAMES; k++) await send(k)
    const perFrame = (writeSyscalls() - before) / FRAMES
    // Unpatched @libp2p/tcp and @libp2p/yamux (see patches/): ~4, a length prefix and a ciphertext each way.
    assert.ok(perFrame < 1.5, `${perFrame.toFixed(2)} write syscalls per frame`)
  })

  it('fails start() cleanly when the listen port is taken', async () => {
    const [port] = await freePorts(1)
    const set = validatorSet([port!, port! + 1])
    const blocker = createServer().listen(port, '127.0.0.1')
    await once(blocker, 'listening')
    try {
      const links = started.add(linksFor(set, 0))
      await assert.rejects(links.start())
      assert.deepEqual(links.listenAddresses(), [])
    } finally {
      blocker.close()
    }
  })

  it('bounds each peer queue: frames beyond queueMax are refused and counted, the rest arrive in order', async () => {
    const set = validatorSet(await freePorts(2))
    const a = started.add(linksFor(set, 0))
    const b = node(set, 1)
    const ch = a.channel(PBFT, { maxFrameBytes: 1024, queueMax: 16 })
    await a.start()
    await b.links.start()
    await waitFor('linked', () => a.isConnected(1) && b.links.isConnected(0))
    // All in one tick: the pump only runs on the next microtask, so the queue fills.
    const accepted = Array.from({ length: 20 }, (_, k) => ch.send(1, bytes(`q${k}`)))
    assert.deepEqual(accepted, [...Array(16).fill(true), ...Array(4).fill(false)])
    assert.equal(a.counters().channels[PBFT]!.drops.queueFull, 4)
    await waitFor('16 frames', () => b.got.length === 16)
    assert.deepEqual(b.got.map((g) => g.text), Array.from({ length: 16 }, (_, k) => `q${k}`))
  })

  it('refuses a stranger: its dials fail, it opens no stream, and validators never dial an impostor at a known address', async () => {
    const ports = await freePorts(3)
    const set = validatorSet(ports)
    // Validators 0 and 1 run; validator 2's address is held by a stranger with its own key.
    const nodes = [0, 1].map((i) => node(set, i))
    for (const n of nodes) await n.links.start()
    const stranger = started.add(
      await createLibp2p({
        privateKey: await generateKeyPair('Ed25519'),
        addresses: { listen: [`/ip4/127.0.0.1/tcp/${ports[2]}`] },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
      }),
    )
    let strangerStreams = 0
    await stranger.handle(PBFT, () => void strangerStreams++)
    await waitFor('validators 0 and 1 linked', () => nodes.every((n) => n.links.isConnected(1 - n.links.self)))

    for (const target of [0, 1]) {
      const addr = multiaddr(`${set.validators[target]!.addresses[0]}/p2p/${set.validators[target]!.peerId}`)
      // The validator's gater drops the connection right after Noise authenticates the stranger.
      const attempt = async (): Promise<void> => {
        const stream = await stranger.dialProtocol(addr, PBFT, { signal: AbortSignal.timeout(3_000) })
        stream.send(encodeFrame(bytes('let me in')))
        await stream.close({ signal: AbortSignal.timeout(3_000) })
      }
      await assert.rejects(attempt())
    }
    await sleep(600) // several redial rounds of validators toward the impostor's address
    assert.equal(stranger.getConnections().length, 0)
    assert.equal(strangerStreams, 0)
    for (const n of nodes) {
      assert.deepEqual(n.links.connectedPeers(), [1 - n.links.self])
      assert.ok(n.got.every((g) => g.text !== 'let me in'))
      assert.equal(n.links.counters().channels[PBFT]!.drops.unknownPeer, 0)
      assert.ok(n.links.counters().dials.failures >= 1, 'dials toward the impostor fail')
    }
  })

  it('refuses an oversized frame before decoding it; the link survives and the node keeps serving others', async () => {
    const set = validatorSet(await freePorts(3))
    const small = node(set, 0, 1024) // validator 0 accepts frames up to 1 KiB
    const big = node(set, 1, 1 << 20) // validator 1 is willing to send 1 MiB frames
    const other = node(set, 2)
    for (const n of [small, big, other]) await n.links.start()
    await waitFor('linked', () => fullyConnected([small, big, other]))

    assert.equal(big.pbft.send(0, new Uint8Array(200_000).fill(0x61)), true)
    await waitFor('oversized frame counted', () => small.links.counters().channels[PBFT]!.drops.oversized === 1)
    assert.equal(small.got.length, 0)
    // Locally, a frame above the limit is refused, not sent.
    assert.equal(small.pbft.send(1, new Uint8Array(1025)), false)
    assert.equal(small.links.counters().channels[PBFT]!.drops.oversized, 2)

    // The connection stays; validator 1 reopens its stream and small frames flow again.
    assert.ok(small.links.isConnected(1) && big.links.isConnected(0))
    await waitFor('frames after the reset', () => {
      big.pbft.send(0, bytes('after'))
      return small.got.some((g) => g.from === 1 && g.text === 'after')
    }, 10_000, 50)
    other.pbft.send(0, bytes('from 2'))
    small.pbft.send(2, bytes('to 2'))
    await waitFor('others served', () => small.got.some((g) => g.from === 2) && other.got.some((g) => g.from === 0))
    assert.equal(small.got.filter((g) => g.text.length > 1024).length, 0)
  })

  it('reconnects a validator stopped and restarted on the same address; frames flow again', async () => {
    const set = validatorSet(await freePorts(3))
    const nodes = [0, 1, 2].map((i) => node(set, i))
    for (const n of nodes) await n.links.start()
    await waitFor('linked', () => fullyConnected(nodes))
    const events: string[] = []
    nodes[0]!.links.onPeer((peer, up) => events.push(`${peer}:${up}`))

    await nodes[2]!.links.stop()
    await waitFor('validator 2 seen down', () => !nodes[0]!.links.isConnected(2) && !nodes[1]!.links.isConnected(2))
    assert.equal(nodes[0]!.pbft.send(2, bytes('lost')), false)
    assert.equal(nodes[0]!.links.counters().channels[PBFT]!.drops.disconnected, 1)
    await sleep(700) // let redials fail and back off

    const again = node(set, 2)
    await again.links.start()
    await waitFor('validator 2 relinked', () => fullyConnected([nodes[0]!, nodes[1]!, again]))
    // Down first, up at the end; a loaded machine may add brief flaps in between (redials racing).
    assert.equal(events[0], '2:false')
    assert.equal(events.filter((e) => e.startsWith('2:')).at(-1), '2:true')
    nodes[0]!.pbft.send(2, bytes('hello again'))
    again.pbft.broadcast(bytes('back'))
    await waitFor('frames after restart', () =>
      again.got.some((g) => g.from === 0 && g.text === 'hello again') && nodes.slice(0, 2).every((n) => n.got.some((g) => g.from === 2 && g.text === 'back')))
  })

  it('request/response: round trip, timeout, oversized response and request refused, not connected', async () => {
    const set = validatorSet(await freePorts(3))
    const a = started.add(linksFor(set, 0))
    const b = started.add(linksFor(set, 1))
    started.add(linksFor(set, 2)) // never started: validator 2 stays unreachable
    let slow: (() => void) | undefined
    b.handle(SYNC, async (from, req) => {
      const cmd = text(req)
      if (cmd === 'slow') await new Promise<void>((resolve) => (slow = resolve))
      if (cmd === 'big') return new Uint8Array(10_000)
      return bytes(`${from} asked ${cmd}`)
    }, { maxRequestBytes: 100, timeoutMs: 5_000 })
    a.handle(SYNC, async () => bytes('unused'), { maxRequestBytes: 100 })
    await a.start()
    await b.start()
    await waitFor('linked', () => a.isConnected(1))

    const opts = { timeoutMs: 2_000, maxResponseBytes: 1024 }
    assert.equal(text(await a.request(1, SYNC, bytes('height 7'), opts)), '0 asked height 7')
    // Up to maxConcurrent (default 8) requests may be in flight per peer and protocol.
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => a.request(1, SYNC, bytes(`h${i}`), opts)))
    assert.deepEqual(answers.map(text), Array.from({ length: 8 }, (_, i) => `0 asked h${i}`))

    const t0 = Date.now()
    await assert.rejects(a.request(1, SYNC, bytes('slow'), { timeoutMs: 200, maxResponseBytes: 1024 }), RequestTimeoutError)
    assert.ok(Date.now() - t0 < 1_500, 'timeout is prompt')
    slow?.()

    await assert.rejects(a.request(1, SYNC, bytes('big'), opts), FrameTooLargeError)
    await assert.rejects(a.request(1, SYNC, new Uint8Array(101), opts))
    await waitFor('oversized request counted', () => b.counters().requests.refused >= 1)
    await assert.rejects(a.request(2, SYNC, bytes('x'), opts), PeerNotConnectedError)
    // The link still serves after all that.
    assert.equal(text(await a.request(1, SYNC, bytes('still'), opts)), '0 asked still')
    const c = a.counters().requests
    assert.equal(c.timedOut, 1)
    assert.equal(c.succeeded, 10)
  })
})
