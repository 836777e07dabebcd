import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { equalBytes } from '@vigil/common'
import type { ReplicaConfig } from '../src/types.js'
import { PARAMS, TestNet, request } from './harness.js'

/** Whether replica i delivered request r. */
const delivered = (net: TestNet, i: number, r: number): boolean =>
  net.delivered[i]!.some((d) => d.batch.requests.some((q) => equalBytes(q.id, request(r).id)))

/** The listed replicas hold the same block hash at every height they share. */
function sameChain(net: TestNet, replicas: readonly number[]): void {
  const top = Math.min(...replicas.map((i) => net.heights[i]!.length))
  for (let h = 0; h < top; h++) {
    assert.equal(new Set(replicas.map((i) => Buffer.from(net.heights[i]![h]!).toString('hex'))).size, 1, `replicas ${replicas.join(',')} differ at height ${h}`)
  }
}

const describeState = (net: TestNet, replicas: readonly number[]): string => JSON.stringify(replicas.map((i) => ({ i, ...net.replicas[i]!.status() })))

describe('liveness', () => {
  it('quorum lost, then regained (Fabric #1874): a write pending without a quorum commits once the first stopped replica returns, and later writes too', () => {
    const net = new TestNet(4)
    net.serveTransfers = true
    const down = new Set([0])
    const up = (): number[] => [0, 1, 2, 3].filter((i) => !down.has(i))
    net.filter = (e) => !down.has(e.from) && !down.has(e.to)

    // The primary (0) is stopped: a write commits on the other three after a view change.
    net.submit(request(1), [1, 2, 3])
    assert.ok(net.runUntil(() => [1, 2, 3].every((i) => delivered(net, i, 1)), 5000, 5, up()), `first write not committed: ${describeState(net, up())}`)

    // A second replica (a backup) stops: a write through replica 3 (which forwards it to 1) stays pending.
    down.add(2)
    net.submit(request(2), [1, 3])
    net.runUntil(() => false, 30 * PARAMS.viewChangeTimeoutMs, 5, up())
    for (const i of [1, 3]) assert.equal(delivered(net, i, 2), false, `replica ${i} committed without a quorum`)

    // The first stopped replica starts again, knowing nothing of the pending write.
    down.delete(0)
    net.restart(0)
    const running = up()
    assert.ok(net.runUntil(() => running.every((i) => delivered(net, i, 2)), 100 * PARAMS.viewChangeTimeoutMs, 5, running), `pending write not committed after the quorum returned: ${describeState(net, running)}`)
    net.submit(request(3), running)
    assert.ok(net.runUntil(() => running.every((i) => delivered(net, i, 3)), 20 * PARAMS.viewChangeTimeoutMs, 5, running), `later write not committed: ${describeState(net, running)}`)
    sameChain(net, running)
  })

  it('a primary that proposes every request but one is replaced, and that one commits in the next view', () => {
    const net = new TestNet(4)
    const censored = 1000
    // The primary never gets request X (it could as well leave it out): the backups wait on it.
    net.submit(request(censored), [1, 2, 3])
    let next = 0
    const backups = [1, 2, 3]
    for (let t = 0; t < 50 * PARAMS.viewChangeTimeoutMs && !backups.every((i) => delivered(net, i, censored)); t += 20) {
      net.submit(request(next++))
      net.runUntil(() => false, 20)
    }
    for (const i of backups) assert.ok(delivered(net, i, censored), `replica ${i} never committed the censored request while ${next} others were submitted: ${describeState(net, backups)}`)
    // Others were ordered meanwhile: the timer did not wait for an idle primary.
    assert.ok(net.delivered[1]!.filter((d) => d.view === 0 && d.batch.requests.length > 0).length > 2, 'view 0 ordered other requests')
    const reasons = backups.flatMap((i) => net.readies[i]!.flatMap((r) => (r.viewChange === null ? [] : [r.viewChange.reason])))
    assert.ok(reasons.some((r) => /^the oldest request waited \d+ ms while other batches executed \(limit \d+ ms\)$/.test(r)), JSON.stringify(reasons))
    const d = net.delivered[1]!.find((x) => x.batch.requests.some((q) => equalBytes(q.id, request(censored).id)))!
    assert.ok(d.view >= 1, `committed in view ${d.view}, not after a view change`)
    sameChain(net, [0, 1, 2, 3])
  })

  it('a backup that knows a request only from a PRE-PREPARE waits on it, across a restart too', () => {
    for (const restart of [false, true]) {
      const net = new TestNet(4)
      // Only the primary got the request; the backups see its proposal and nothing else, then nothing at all.
      net.submit(request(1), [0])
      net.filter = (e) => e.msg.type === 'preprepare'
      net.runUntil(() => false, 20)
      assert.equal(net.replicas[1]!.status().logSize, 1, 'replica 1 did not accept the proposal')
      if (restart) net.restart(1)
      net.filter = () => false
      const started = net.runUntil(() => net.replicas[1]!.status().viewChanging, 10 * PARAMS.viewChangeTimeoutMs, 5, [1])
      assert.ok(started, `replica 1 (restarted: ${restart}) never suspected a primary whose proposal does not commit`)
    }
  })

  it('an honest primary working through a backlog is not replaced, though the last requests wait many timeouts', () => {
    const net = new TestNet(4)
    const count = 50 * PARAMS.batchMaxCount
    // The primary hears of them in one order, the backups in a slightly different one (gossip latency).
    for (let r = 0; r < count; r++) net.submit(request(r), [0])
    for (let r = 0; r < count; r++) net.submit(request(r ^ 1), [1, 2, 3])
    // One message hop per 10 ms: a batch takes a few hops, the backlog many request timeouts.
    const hop = (): void => {
      net.tick(10)
      net.flush(net.queue.length)
    }
    const all = (): boolean => [0, 1, 2, 3].every((i) => net.delivered[i]!.reduce((k, d) => k + d.batch.requests.length, 0) === count)
    for (let t = 0; t < 100 * PARAMS.viewChangeTimeoutMs && !all(); t += 10) hop()
    assert.ok(all(), `backlog not ordered: ${describeState(net, [0, 1, 2, 3])}`)
    assert.ok(net.now > 5 * PARAMS.viewChangeTimeoutMs, `the backlog took only ${net.now} ms`)
    for (const i of [0, 1, 2, 3]) {
      assert.deepEqual(net.readies[i]!.flatMap((r) => (r.viewChange === null ? [] : [r.viewChange])), [], `replica ${i} started a view change`)
    }
  })

  /**
   * n = 5 (quorum 4): replica 1, primary of view 1, is down; the primary of view 0 proposes nothing;
   * replica 4 is heard by nobody (a one-way partition) until it has timed out of view 1. Then
   * replicas 0, 2 and 3 hold three VIEW-CHANGEs for view 1 and one for view 2, replica 4 one for view 2.
   */
  function spreadOverTwoViews(extra: Partial<ReplicaConfig>): { net: TestNet; done: boolean } {
    const net = new TestNet(5, PARAMS, undefined, extra)
    let oneWay = true
    net.filter = (e) => e.from !== 1 && e.to !== 1 && !(e.from === 0 && e.msg.type === 'preprepare') && !(oneWay && e.from === 4)
    const live = [0, 2, 3, 4]
    net.submit(request(1), live)
    assert.ok(net.runUntil(() => net.replicas[4]!.status().targetView === 2, 50 * PARAMS.viewChangeTimeoutMs, 5, live), `replica 4 did not move on to view 2: ${describeState(net, live)}`)
    for (const i of [0, 2, 3]) assert.equal(net.replicas[i]!.status().targetView, 1)
    oneWay = false
    const done = net.runUntil(() => live.every((i) => delivered(net, i, 1)), 200 * PARAMS.viewChangeTimeoutMs, 5, live)
    return { net, done }
  }

  it('replicas spread over views t and t+1 after a one-way partition converge: the view-change timer counts VIEW-CHANGEs for the target or higher', () => {
    const { net, done } = spreadOverTwoViews({})
    assert.ok(done, `the view change did not converge: ${describeState(net, [0, 2, 3, 4])}`)
    sameChain(net, [0, 2, 3, 4])
  })

  it('planted bug: with a view-change timer that counts only VIEW-CHANGEs for exactly the target view, the same schedule stalls', () => {
    const { net, done } = spreadOverTwoViews({ unsafeExactViewTimer: true })
    assert.equal(done, false, 'expected a stall')
    for (const i of [0, 2, 3, 4]) assert.equal(net.replicas[i]!.status().viewChanging, true)
  })
})
