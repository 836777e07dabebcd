import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  Signer, checkpointSignBytes, equalBytes, generateKeyPair, quorumSize, verifyCommitCertificate, verifySignature,
} from '@vigil/common'
import { Replica } from '../src/replica.js'
import { digestOf, prepareSignBytes, type Message, type NewView, type PrePrepare } from '../src/messages.js'
import { PERSIST_KEYS, verifyCheckpointCertificate } from '../src/index.js'
import { buildNewView, buildViewChange, digestViewChange } from '../src/viewchange.js'
import type { Ready, ReplicaCrypto } from '../src/types.js'
import { DOMAIN, GENESIS, PARAMS, TestNet, request } from './harness.js'

const dropped = (r: Ready, re: RegExp): boolean => r.dropped.some((d) => re.test(d.reason))
const sent = (r: Ready, type: Message['type']): Message[] => r.send.filter((s) => s.msg.type === type).map((s) => s.msg)

/** A 4-replica net where replica 0 (primary of view 0) proposed request 1 and replica 1 got the pre-prepare. */
function withProposal(): { net: TestNet; pp: PrePrepare } {
  const net = new TestNet(4)
  net.submit(request(1))
  net.tick(10)
  const pp = net.queue.find((e) => e.msg.type === 'preprepare')!.msg as PrePrepare
  return { net, pp }
}

describe('normal case', () => {
  it('orders requests: every replica delivers the same batches in order, each with a certificate ed25519 can verify', () => {
    const signers = Array.from({ length: 4 }, () => new Signer(generateKeyPair()))
    const keys = signers.map((s) => s.publicKey)
    const cryptos: ReplicaCrypto[] = signers.map((s) => ({ sign: (b) => s.sign(b), verify: (r, b, sig) => keys[r] !== undefined && verifySignature(keys[r]!, b, sig) }))
    const net = new TestNet(4, PARAMS, cryptos)
    for (let i = 0; i < 10; i++) net.submit(request(i))
    assert.ok(net.runUntil(() => net.delivered.every((d) => d.reduce((k, x) => k + x.batch.requests.length, 0) === 10)))
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(net.delivered[i]!.map((d) => d.seq), net.delivered[0]!.map((_, k) => k + 1), 'strictly in sequence order')
      for (const [k, d] of net.delivered[i]!.entries()) {
        assert.ok(equalBytes(d.digest, net.delivered[0]![k]!.digest))
        assert.ok(equalBytes(d.digest, digestOf(d.batch)))
        verifyCommitCertificate(d.cert, DOMAIN, keys, quorumSize(4))
      }
    }
    // The parent rule: batch s names the hash of block s-1.
    const d0 = net.delivered[0]!
    assert.ok(equalBytes(d0[0]!.batch.parent!, GENESIS))
    for (let k = 1; k < d0.length; k++) if (d0[k]!.batch.parent !== null) assert.ok(equalBytes(d0[k]!.batch.parent!, net.heights[0]![k]!))
  })

  it('batches up to batchMaxCount at once and proposes a partial batch only after the batch timeout', () => {
    const net = new TestNet(4)
    for (let i = 0; i < 5; i++) net.submit(request(i), [0])
    const full = net.readies[0]!.flatMap((r) => sent(r, 'preprepare')) as PrePrepare[]
    assert.equal(full.length, 1, 'a full batch is proposed at once')
    assert.equal(full[0]!.batch.requests.length, PARAMS.batchMaxCount)
    net.flush()
    net.tick(1, [0])
    assert.equal(sent(net.lastReady(0), 'preprepare').length, 0, 'the remaining request waits for the batch timeout')
    net.tick(10, [0])
    assert.equal((sent(net.lastReady(0), 'preprepare')[0] as PrePrepare).batch.requests.length, 1)
  })

  it('proposes one empty batch after a non-empty one, then nothing', () => {
    const net = new TestNet(4)
    net.submit(request(1))
    assert.ok(net.runUntil(() => net.delivered[0]!.length >= 2, 200))
    assert.equal(net.delivered[0]![1]!.batch.requests.length, 0, 'the empty batch certifies the state after the last non-empty one')
    net.runUntil(() => false, 500)
    assert.equal(net.delivered[0]!.length, 2, 'never a stream of empty batches')
  })

  it('waits to accept a pre-prepare until its parent is executed', () => {
    const { net, pp } = withProposal()
    const r = new Replica(net.config(1))
    const early = r.step({ type: 'message', from: 0, msg: pp })
    assert.equal(early.send.length, 0, 'no PREPARE before the parent block is known')
    const later = r.step({ type: 'stateTransferred', seq: 0, blockHash: GENESIS })
    assert.equal(sent(later, 'prepare').length, 1)
  })
})

describe('rejection rules', () => {
  it('drops a message from a non-validator index', () => {
    const { net, pp } = withProposal()
    const r = net.step(1, { type: 'message', from: 7, msg: pp })
    assert.ok(dropped(r, /non-validator/))
    assert.equal(r.send.length, 0)
  })

  it('drops a duplicate, and reports a conflicting pre-prepare as equivocation', () => {
    const { net, pp } = withProposal()
    net.step(1, { type: 'message', from: 0, msg: pp })
    assert.ok(dropped(net.step(1, { type: 'message', from: 0, msg: pp }), /duplicate/))
    const batch = { ...pp.batch, time: pp.batch.time + 1 }
    const other = { ...pp, batch, sig: net.cryptos[0]!.sign(prepareSignBytes(DOMAIN, 0, pp.seq, digestOf(batch))) }
    const r = net.step(1, { type: 'message', from: 0, msg: other })
    assert.ok(dropped(r, /conflicts/))
    assert.ok(r.faults.some((f) => f.replica === 0 && /equivocation/.test(f.reason)))
    assert.equal(r.send.length, 0)
  })

  it('drops a bad signature', () => {
    const { net, pp } = withProposal()
    const r = net.step(1, { type: 'message', from: 0, msg: { ...pp, sig: new Uint8Array(64) } })
    assert.ok(dropped(r, /bad signature/))
    assert.equal(r.send.length, 0)
  })

  it('drops a pre-prepare from a backup', () => {
    const { net, pp } = withProposal()
    const sig = net.cryptos[2]!.sign(prepareSignBytes(DOMAIN, 0, pp.seq, digestOf(pp.batch)))
    const r = net.step(1, { type: 'message', from: 2, msg: { ...pp, sig } })
    assert.ok(dropped(r, /not from the primary/))
  })

  it('drops votes outside the watermarks', () => {
    const net = new TestNet(4)
    const digest = new Uint8Array(32)
    const seq = PARAMS.watermarkWindow + 1
    const msg: Message = { type: 'prepare', view: 0, seq, digest, sig: net.cryptos[2]!.sign(prepareSignBytes(DOMAIN, 0, seq, digest)) }
    assert.ok(dropped(net.step(1, { type: 'message', from: 2, msg }), /outside the watermarks/))
  })

  it('drops a pre-prepare whose parent is not the hash of the previous block', () => {
    const net = new TestNet(4)
    const batch = { time: 0, parent: new Uint8Array(32).fill(9), requests: [request(1)] }
    const msg: Message = { type: 'preprepare', view: 0, seq: 1, batch, sig: net.cryptos[0]!.sign(prepareSignBytes(DOMAIN, 0, 1, digestOf(batch))) }
    const r = net.step(1, { type: 'message', from: 0, msg })
    assert.ok(dropped(r, /parent mismatch/))
    assert.ok(r.faults.some((f) => f.replica === 0))
    assert.equal(r.send.length, 0)
  })

  it('drops a pre-prepare whose batch time is too far ahead', () => {
    const net = new TestNet(4)
    const batch = { time: net.now + PARAMS.maxClockSkewMs + 1, parent: GENESIS, requests: [request(1)] }
    const msg: Message = { type: 'preprepare', view: 0, seq: 1, batch, sig: net.cryptos[0]!.sign(prepareSignBytes(DOMAIN, 0, 1, digestOf(batch))) }
    assert.ok(dropped(net.step(1, { type: 'message', from: 0, msg }), /batch time out of bounds/))
  })

  it('drops a pre-prepare that proposes an already delivered request', () => {
    const net = new TestNet(4)
    net.submit(request(1))
    assert.ok(net.runUntil(() => net.delivered[1]!.length >= 1))
    const h = net.heights[1]!
    const batch = { time: net.now, parent: h[h.length - 1]!, requests: [request(1)] }
    const seq = h.length
    const msg: Message = { type: 'preprepare', view: 0, seq, batch, sig: net.cryptos[0]!.sign(prepareSignBytes(DOMAIN, 0, seq, digestOf(batch))) }
    const r = net.step(1, { type: 'message', from: 0, msg })
    assert.ok(dropped(r, /already delivered|already committed/), JSON.stringify(r.dropped))
  })

  it('drops messages for an old view, and a request it already has', () => {
    const net = silentPrimaryViewChange()
    const digest = new Uint8Array(32)
    const msg: Message = { type: 'prepare', view: 0, seq: 3, digest, sig: net.cryptos[2]!.sign(prepareSignBytes(DOMAIN, 0, 3, digest)) }
    assert.ok(dropped(net.step(1, { type: 'message', from: 2, msg }), /old view/))
    assert.ok(dropped(net.step(1, { type: 'request', request: request(1) }), /duplicate request/))
  })

  it('counts a signed VIEW-CHANGE with a doctored prepared certificate against its sender', () => {
    const r = new Replica(new TestNet(4).config(1))
    r.step({ type: 'stateTransferred', seq: 0, blockHash: GENESIS })
    const liar = new TestNet(4).cryptos[3]!
    // Its own signature is good; the prepared certificate it carries was signed by nobody.
    const bogus = { view: 0, seq: 1, digest: new Uint8Array(32).fill(7), sigs: [0, 1, 2].map((replica) => ({ replica, sig: new Uint8Array(64) })) }
    const vc = buildViewChange(DOMAIN, liar, 1, 3, { seq: 0, blockHash: new Uint8Array(32), sigs: [] }, [bogus]).msg
    const out = r.step({ type: 'message', from: 3, msg: vc })
    assert.ok(dropped(out, /prepared certificate 1/), JSON.stringify(out.dropped))
    assert.deepEqual(out.faults.map((f) => f.replica), [3])
  })

  it('refuses a NEW-VIEW whose re-proposals do not match its VIEW-CHANGEs', () => {
    const net = new TestNet(4)
    net.submit(request(1))
    const noCommitInView0 = (e: { msg: Message }): boolean => !(e.msg.type === 'commit' && e.msg.view === 0)
    net.filter = noCommitInView0 // prepared everywhere, committed nowhere
    net.runUntil(() => false, 20)
    net.filter = (e) => e.from !== 0 && e.to !== 0 && e.msg.type !== 'newview' && noCommitInView0(e)
    net.runUntil(() => net.replicas.slice(1).every((r) => r.status().viewChanging), 5000)
    const vcs = [1, 2, 3].map((i) => {
      const s = net.readies[i]!.flatMap((x) => x.send).find((x) => x.msg.type === 'viewchange' && x.msg.view === 1)!
      return digestViewChange(DOMAIN, s.msg as Extract<Message, { type: 'viewchange' }>)
    })
    const honest = buildNewView(DOMAIN, net.cryptos[1]!, 1, vcs, 3).msg
    assert.ok(honest.pre.length >= 1 && honest.pre.some((e) => !equalBytes(e.digest, digestOf({ time: 0, parent: null, requests: [] }))), 'the prepared batch is re-proposed')
    // The new primary drops the prepared batch: a hole where a batch may have committed.
    const forged: NewView = buildNewView(DOMAIN, net.cryptos[1]!, 1, vcs.map((v) => digestViewChange(DOMAIN, { ...v.msg, prepared: [] })), 3).msg
    const tampered: NewView = { ...forged, viewChanges: honest.viewChanges }
    const resigned = buildNewViewSig(net, tampered)
    const fresh = new Replica(net.config(3))
    fresh.step({ type: 'stateTransferred', seq: 0, blockHash: GENESIS })
    const r = fresh.step({ type: 'message', from: 1, msg: resigned })
    assert.ok(dropped(r, /does not match its VIEW-CHANGEs/), JSON.stringify(r.dropped))
    assert.ok(r.faults.some((f) => f.replica === 1))
    assert.equal(fresh.status().view, 0)
    const ok = fresh.step({ type: 'message', from: 1, msg: honest })
    assert.equal(ok.dropped.length, 0)
    assert.equal(fresh.status().view, 1)
    assert.equal(sent(ok, 'prepare').length, honest.pre.length, 'prepares every re-proposal in the new view')
  })
})

/** Re-signs a NEW-VIEW as its primary (replica 1 for view 1), so only the content check can refuse it. */
function buildNewViewSig(net: TestNet, m: NewView): NewView {
  const vcs = m.viewChanges.map((v) => digestViewChange(DOMAIN, v))
  const bytes = newViewBytes(m.view, vcs, m.pre)
  return { ...m, sig: net.cryptos[1]!.sign(bytes) }
}

import { newViewSignBytesOf } from '../src/viewchange.js'
const newViewBytes = (view: number, vcs: ReturnType<typeof digestViewChange>[], pre: NewView['pre']): Uint8Array => newViewSignBytesOf(DOMAIN, view, vcs, pre)

/** Primary 0 is cut off with a request outstanding: the backups must move to view 1 and order it. */
function silentPrimaryViewChange(): TestNet {
  const net = new TestNet(4)
  net.filter = (e) => e.from !== 0 && e.to !== 0
  net.submit(request(1))
  assert.ok(net.runUntil(() => [1, 2, 3].every((i) => net.delivered[i]!.some((d) => d.batch.requests.length === 1)), 5000))
  return net
}

describe('next deadline', () => {
  /** Ticks replica i only at its own nextDeadline() until `done` (bounded); returns the tick times. */
  function tickAtDeadlines(net: TestNet, i: number, done: (r: Ready) => boolean): number[] {
    const times: number[] = []
    net.step(i, { type: 'tick', now: 0 })
    for (let k = 0; k < 100; k++) {
      const at = net.replicas[i]!.nextDeadline()
      // One millisecond early changes nothing: the deadline is exact.
      assert.equal(net.step(i, { type: 'tick', now: at - 1 }).send.length, 0, `a tick at ${at - 1}, before the deadline ${at}, sent something`)
      times.push(at)
      if (done(net.step(i, { type: 'tick', now: at }))) return times
    }
    assert.fail('no action within 100 deadlines')
  }

  it('names the moment a pending batch falls due on the primary', () => {
    const net = new TestNet(4)
    net.submit(request(1), [0])
    assert.deepEqual(tickAtDeadlines(net, 0, (r) => sent(r, 'preprepare').length === 1), [PARAMS.batchTimeoutMs])
  })

  it('names the moment a backup suspects a silent primary, with the retransmissions before it', () => {
    const net = new TestNet(4)
    net.submit(request(1), [1])
    const times = tickAtDeadlines(net, 1, (r) => r.viewChange !== null)
    const retransmit = PARAMS.viewChangeTimeoutMs / 4
    // Retransmission rounds every viewChangeTimeoutMs/4, then the request timeout (viewChangeTimeoutMs here) ends in a VIEW-CHANGE.
    assert.deepEqual(times, [retransmit, 2 * retransmit, 3 * retransmit, PARAMS.viewChangeTimeoutMs])
  })
})

describe('view change', () => {
  it('replaces a silent primary and orders the outstanding request in the new view', () => {
    const net = silentPrimaryViewChange()
    for (const i of [1, 2, 3]) {
      const s = net.replicas[i]!.status()
      assert.equal(s.view, 1)
      assert.equal(s.primary, 1)
      assert.equal(s.viewChanging, false)
      // Each backup says once why it started the view change: its own timeout, or f+1 others asking.
      const started = net.readies[i]!.flatMap((r) => (r.viewChange === null ? [] : [r.viewChange]))
      assert.equal(started.length, 1, JSON.stringify(started))
      assert.equal(started[0]!.view, 1)
      assert.match(started[0]!.reason, /^(a request waited \d+ ms with no batch executed \(timeout \d+ ms\)|2 replicas asked for view 1 or higher)$/)
    }
  })

  it('keeps a request prepared in the old view at the same sequence number', () => {
    const net = new TestNet(4)
    net.submit(request(1))
    const noCommitInView0 = (e: { msg: Message }): boolean => !(e.msg.type === 'commit' && e.msg.view === 0)
    net.filter = noCommitInView0
    net.runUntil(() => false, 20)
    net.filter = (e) => e.from !== 0 && e.to !== 0 && noCommitInView0(e)
    assert.ok(net.runUntil(() => [1, 2, 3].every((i) => net.delivered[i]!.length >= 1), 5000))
    for (const i of [1, 2, 3]) {
      const d = net.delivered[i]![0]!
      assert.equal(d.seq, 1)
      assert.equal(d.batch.requests.length, 1)
      assert.ok(d.view >= 1, 'committed in the new view')
    }
  })

  it('keeps a primary whose batches steadily take longer than the request timeout, and still replaces it once silent', () => {
    const net = new TestNet(4)
    let next = 0
    // One batch whose COMMITs are held back for holdMs (then retransmitted): a slow but honest primary.
    const round = (holdMs: number): void => {
      const want = next + 4
      for (; next < want; next++) net.submit(request(next))
      net.filter = (e) => e.msg.type !== 'commit'
      net.runUntil(() => false, holdMs)
      net.filter = () => true
      assert.ok(net.runUntil(() => [0, 1, 2, 3].every((i) => net.delivered[i]!.reduce((k, d) => k + d.batch.requests.length, 0) === want), 2000))
    }
    for (let r = 0; r < 4; r++) round(60) // under the 100 ms timeout: learns the cycle
    for (let r = 0; r < 4; r++) round(150) // over it, but steady
    for (const i of [0, 1, 2, 3]) assert.equal(net.replicas[i]!.status().view, 0, `replica ${i} replaced a slow but working primary`)
    net.filter = (e) => e.from !== 0 && e.to !== 0
    net.submit(request(next))
    assert.ok(net.runUntil(() => [1, 2, 3].every((i) => net.replicas[i]!.status().view >= 1), 8 * PARAMS.viewChangeTimeoutMs + 500), 'a silent primary is still replaced within the cap')
  })

  it('does not blame the primary for its own stall, but still suspects a silent one afterwards', () => {
    const net = new TestNet(4)
    net.filter = (e) => e.from !== 0 && e.to !== 0
    net.submit(request(1), [1])
    net.tick(5, [1])
    // No tick for ten request timeouts (a stopped process): on waking, timers restart.
    net.now += 10 * PARAMS.viewChangeTimeoutMs
    assert.equal(net.step(1, { type: 'tick', now: net.now }).viewChange, null, 'started a view change on waking')
    net.tick(PARAMS.viewChangeTimeoutMs / 2, [1])
    assert.equal(net.replicas[1]!.status().viewChanging, false)
    // The primary stays silent for a whole timeout after that: now it is suspected.
    net.tick(PARAMS.viewChangeTimeoutMs / 2 + 5, [1])
    assert.equal(net.replicas[1]!.status().viewChanging, true)
  })

  it('a replica behind a stable checkpoint fetches state instead of suspecting the primary', () => {
    const net = new TestNet(4)
    net.filter = () => false
    net.submit(request(1), [1])
    const seq = PARAMS.watermarkWindow + PARAMS.checkpointInterval
    const blockHash = new Uint8Array(32).fill(7)
    const sigs = [0, 2, 3].map((replica) => ({ replica, sig: net.cryptos[replica]!.sign(checkpointSignBytes(DOMAIN, seq, blockHash)) }))
    assert.ok(net.step(1, { type: 'message', from: 2, msg: { type: 'stable', cert: { seq, blockHash, sigs } } }).stateTransfer !== null)
    for (let t = 0; t < 10; t++) net.tick(PARAMS.viewChangeTimeoutMs, [1])
    assert.equal(net.replicas[1]!.status().viewChanging, false)
    assert.ok(net.readies[1]!.filter((r) => r.stateTransfer !== null).length > 1, 'retries the transfer')
  })

  it('one faulty backup cannot block progress', () => {
    const net = new TestNet(4)
    net.filter = (e) => e.from !== 3 && e.to !== 3
    for (let i = 0; i < 6; i++) net.submit(request(i))
    assert.ok(net.runUntil(() => [0, 1, 2].every((i) => net.delivered[i]!.reduce((k, d) => k + d.batch.requests.length, 0) === 6), 2000))
    assert.equal(net.replicas[0]!.status().view, 0)
  })
})

describe('checkpoints', () => {
  it('become stable with 2f+1 signatures, move the low watermark and garbage-collect log and records', () => {
    const net = new TestNet(4)
    for (let i = 0; i < 30; i++) net.submit(request(i))
    assert.ok(net.runUntil(() => net.delivered.every((d) => d.reduce((k, x) => k + x.batch.requests.length, 0) === 30), 5000))
    const executed = net.replicas[0]!.status().lastExecuted
    assert.ok(executed >= 8)
    for (const r of net.replicas) {
      const s = r.status()
      assert.ok(s.lowWatermark >= executed - PARAMS.checkpointInterval, `low watermark ${s.lowWatermark} follows execution ${executed}`)
      assert.ok(s.logSize <= PARAMS.watermarkWindow)
    }
    const keys = [...net.stores[1]!.keys()]
    const low = net.replicas[1]!.status().lowWatermark
    assert.ok(keys.filter((k) => k.startsWith('pbft/pp/') || k.startsWith('pbft/pc/')).every((k) => Number(k.slice(8)) > low), 'records below the stable checkpoint are deleted')
    assert.ok(keys.length <= 3 * PARAMS.watermarkWindow + 4, `bounded records: ${keys.length}`)
    assert.ok(net.readies[1]!.some((r) => r.persist.some((p) => p.key.startsWith('pbft/pp/') && p.value === null)))
    assert.ok(keys.includes(PERSIST_KEYS.stable))
  })

  it('asks for a state transfer on a certificate above its high watermark, and resumes from there', () => {
    const net = new TestNet(4)
    const seq = PARAMS.watermarkWindow + PARAMS.checkpointInterval
    const blockHash = new Uint8Array(32).fill(7)
    const sigs = [0, 2, 3].map((replica) => ({ replica, sig: net.cryptos[replica]!.sign(checkpointSignBytes(DOMAIN, seq, blockHash)) }))
    const cert = { seq, blockHash, sigs }
    verifyCheckpointCertificate(cert, DOMAIN, 4, (r, b, s) => net.cryptos[r]!.verify(r, b, s))
    assert.throws(() => verifyCheckpointCertificate({ ...cert, sigs: sigs.slice(0, 2) }, DOMAIN, 4, net.cryptos[0]!.verify), /2 signatures, 3 needed/)
    assert.ok(dropped(net.step(1, { type: 'message', from: 2, msg: { type: 'stable', cert: { ...cert, sigs: sigs.slice(0, 2) } } }), /3 needed/))
    const r = net.step(1, { type: 'message', from: 2, msg: { type: 'stable', cert } })
    assert.deepEqual(r.stateTransfer, { seq, blockHash, cert })
    net.step(1, { type: 'stateTransferred', seq, blockHash })
    const s = net.replicas[1]!.status()
    assert.equal(s.lastExecuted, seq)
    assert.equal(s.lowWatermark, seq)
  })
})

describe('restart', () => {
  it('restores its votes: after a restart it neither prepares another batch nor forgets its view change', () => {
    const { net, pp } = withProposal()
    const first = net.step(1, { type: 'message', from: 0, msg: pp })
    const myPrepare = sent(first, 'prepare')[0]!
    assert.ok(first.persist.some((p) => p.key === PERSIST_KEYS.prePrepare(1)), 'persisted before the PREPARE leaves')
    net.restart(1)
    const batch = { ...pp.batch, time: pp.batch.time + 1 }
    const other: PrePrepare = { ...pp, batch, sig: net.cryptos[0]!.sign(prepareSignBytes(DOMAIN, 0, 1, digestOf(batch))) }
    const r = net.step(1, { type: 'message', from: 0, msg: other })
    assert.equal(sent(r, 'prepare').length, 0, 'no PREPARE for a second batch at the same view and sequence')
    net.tick(1000, [1])
    const resent = sent(net.lastReady(1), 'prepare')
    assert.deepEqual(resent, [myPrepare], 'retransmits exactly the PREPARE it sent before')

    // A view change survives the restart too: no going back to view 0.
    net.step(1, { type: 'request', request: request(1) })
    for (let t = 0; t < 20; t++) net.tick(PARAMS.viewChangeTimeoutMs / 2, [1])
    assert.ok(net.replicas[1]!.status().viewChanging)
    const vc = net.readies[1]!.flatMap((x) => x.send).find((s) => s.msg.type === 'viewchange')!.msg
    net.restart(1)
    assert.ok(net.replicas[1]!.status().viewChanging)
    assert.equal(net.replicas[1]!.status().targetView, 1)
    net.tick(1000, [1])
    assert.deepEqual(sent(net.lastReady(1), 'viewchange'), [vc])
    assert.ok(dropped(net.step(1, { type: 'message', from: 0, msg: pp }), /view change in progress/))
  })

  it('does not deliver again what the node already executed', () => {
    const net = new TestNet(4)
    for (let i = 0; i < 3; i++) net.submit(request(i))
    assert.ok(net.runUntil(() => net.delivered[2]!.length >= 2))
    const before = net.delivered[2]!.length
    net.restart(2)
    net.runUntil(() => false, 300)
    const seqs = net.delivered[2]!.map((d) => d.seq)
    assert.equal(new Set(seqs).size, seqs.length)
    assert.ok(seqs.length >= before)
  })
})
