import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  MAX_BATCH_MAX_BYTES, MAX_CONSENSUS_FRAME_BYTES, equalBytes, maxNewViewBytes, maxViewChangeBytes, quorumSize, type ConsensusParams,
} from '@vigil/common'
import { encodeMessage } from '../src/codec.js'
import type { Message, ViewChange } from '../src/messages.js'
import { requestOf, type Request } from '../src/types.js'
import { PARAMS, TestNet, request } from './harness.js'

/** The largest batches genesis allows; no checkpoint within the first batches, so every VIEW-CHANGE reports all of them. */
const LARGEST: ConsensusParams = { ...PARAMS, batchMaxCount: 4, batchMaxBytes: MAX_BATCH_MAX_BYTES, checkpointInterval: 10, watermarkWindow: 20 }

/** A request that fills a batch on its own. */
function full(i: number): Request {
  const payload = new Uint8Array(MAX_BATCH_MAX_BYTES).fill(0x5a)
  payload[0] = i
  return requestOf(payload)
}

const sentOf = (net: TestNet, type: Message['type']): Message[] => net.readies.flatMap((rs) => rs.flatMap((r) => r.send.filter((s) => s.msg.type === type).map((s) => s.msg)))

describe('view-change message size', () => {
  it('a view change over four prepared batches of the largest size genesis allows completes, every VIEW-CHANGE and NEW-VIEW within its bound', () => {
    const n = 4
    const L = LARGEST.watermarkWindow
    const net = new TestNet(n, LARGEST)
    net.wire = MAX_CONSENSUS_FRAME_BYTES
    for (let i = 0; i < 4; i++) net.submit(full(i))
    assert.ok(net.runUntil(() => net.delivered.every((d) => d.length >= 4), 5000), 'four full batches delivered in view 0')
    assert.ok(net.delivered[1]!.slice(0, 4).every((d) => d.batch.requests.length === 1 && d.batch.requests[0]!.payload.byteLength === MAX_BATCH_MAX_BYTES))

    // The primary falls silent with a request outstanding: the others change to view 1 and order it.
    net.filter = (e) => e.from !== 0 && e.to !== 0
    const last = request(99)
    net.submit(last, [1, 2, 3])
    const done = (): boolean => [1, 2, 3].every((i) => net.replicas[i]!.status().view >= 1 && net.delivered[i]!.some((d) => d.batch.requests.some((r) => equalBytes(r.id, last.id))))
    assert.ok(net.runUntil(done, 20_000), `view 1 installed and the request ordered in it; dropped as over the frame limit: ${JSON.stringify(net.oversize.slice(0, 4))}`)
    assert.deepEqual(net.oversize, [], 'no message exceeded the frame limit')

    const vcs = sentOf(net, 'viewchange') as ViewChange[]
    assert.ok(vcs.some((vc) => vc.prepared.length >= 4), 'the VIEW-CHANGEs report the four prepared batches')
    const vcMax = net.wireMax.get('viewchange')!
    const nvMax = net.wireMax.get('newview')!
    assert.ok(vcMax <= maxViewChangeBytes(n, L), `VIEW-CHANGE ${vcMax} B <= bound ${maxViewChangeBytes(n, L)} B`)
    assert.ok(nvMax <= maxNewViewBytes(n, L), `NEW-VIEW ${nvMax} B <= bound ${maxNewViewBytes(n, L)} B`)
    assert.ok(maxNewViewBytes(n, L) <= MAX_CONSENSUS_FRAME_BYTES)
  })

  it('the bound holds for the worst VIEW-CHANGE and NEW-VIEW: most validators, widest window genesis accepts, every certificate full', () => {
    const n = 64
    let L = 2
    while (maxNewViewBytes(n, L + 1) <= MAX_CONSENSUS_FRAME_BYTES) L++
    const big = 2 ** 52
    const sigs = Array.from({ length: n }, (_, r) => ({ replica: r, sig: new Uint8Array(64).fill(r) }))
    const digest = new Uint8Array(32).fill(7)
    const vc: ViewChange = {
      type: 'viewchange', view: big + 1, replica: n - 1, checkpoint: { seq: big, blockHash: digest, sigs },
      prepared: Array.from({ length: L }, (_, i) => ({ view: big, seq: big + 1 + i, digest, sigs })), sig: sigs[0]!.sig,
    }
    const vcBytes = encodeMessage(vc).byteLength
    assert.ok(vcBytes <= maxViewChangeBytes(n, L), `${vcBytes} <= ${maxViewChangeBytes(n, L)}`)
    assert.ok(vcBytes >= 0.99 * maxViewChangeBytes(n, L), 'the bound is tight')
    const q = quorumSize(n)
    const pre = Array.from({ length: L }, (_, i) => ({ seq: big + 1 + i, digest, sig: sigs[1]!.sig }))
    const nvBytes = encodeMessage({ type: 'newview', view: big + 1, viewChanges: Array.from({ length: q }, () => vc), pre, sig: sigs[2]!.sig }).byteLength
    assert.ok(nvBytes <= maxNewViewBytes(n, L) && nvBytes <= MAX_CONSENSUS_FRAME_BYTES, `${nvBytes} <= ${maxNewViewBytes(n, L)} <= ${MAX_CONSENSUS_FRAME_BYTES}`)
    assert.ok(nvBytes >= 0.99 * maxNewViewBytes(n, L), 'the bound is tight')
  })
})
