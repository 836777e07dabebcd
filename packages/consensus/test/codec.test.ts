import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { DecodeError, encode } from '@vigil/common'
import { encodeSimple } from '../src/cbor.js'
import { decodeMessage, encodeMessage } from '../src/codec.js'
import { digestOf, type Message } from '../src/messages.js'
import { requestOf } from '../src/types.js'

const h = (b: number): Uint8Array => new Uint8Array(32).fill(b)
const s = (b: number): Uint8Array => new Uint8Array(64).fill(b)
const batch = { time: 1700, parent: h(1), requests: [requestOf(Uint8Array.of(1, 2, 3))] }
const cp = { seq: 4, blockHash: h(3), sigs: [{ replica: 0, sig: s(1) }, { replica: 2, sig: s(2) }] }
const vc: Message = { type: 'viewchange', view: 2, replica: 1, checkpoint: cp, prepared: [{ view: 1, seq: 5, digest: h(8), sigs: [{ replica: 3, sig: s(3) }] }], sig: s(4) }

const samples: Message[] = [
  { type: 'preprepare', view: 0, seq: 1, batch, sig: s(5) },
  { type: 'preprepare', view: 3, seq: 9, batch: { time: 0, parent: null, requests: [] }, sig: s(5) },
  { type: 'prepare', view: 1, seq: 2, digest: h(4), sig: s(6) },
  { type: 'commit', view: 1, seq: 2, digest: h(4), sig: s(7) },
  { type: 'checkpoint', seq: 4, blockHash: h(5), sig: s(8) },
  vc,
  { type: 'newview', view: 2, viewChanges: [vc as Extract<Message, { type: 'viewchange' }>], pre: [{ seq: 5, digest: h(6), sig: s(9) }], sig: s(10) },
  { type: 'status', view: 2, lastExecuted: 17 },
  { type: 'committed', batch, cert: { view: 0, seq: 3, digest: h(7), sigs: [{ replica: 1, sig: s(11) }] } },
  { type: 'stable', cert: cp },
  { type: 'fetch', seq: 5, digest: h(8) },
  { type: 'batch', seq: 5, digest: h(8), batch },
]

describe('codec', () => {
  it('round-trips every message type in canonical CBOR', () => {
    for (const m of samples) {
      const bytes = encodeMessage(m)
      assert.deepEqual(decodeMessage(bytes, 1 << 20), m, m.type)
      assert.deepEqual(encodeMessage(decodeMessage(bytes, 1 << 20)), bytes)
    }
  })

  it('round-trips random batches', () => {
    const req = fc.uint8Array({ maxLength: 40 }).map(requestOf)
    fc.assert(fc.property(fc.nat(), fc.nat(), fc.array(req, { maxLength: 8 }), fc.uint8Array({ minLength: 64, maxLength: 64 }), (view, seq, requests, sig) => {
      const m: Message = { type: 'preprepare', view, seq, batch: { time: seq, parent: h(1), requests }, sig }
      assert.deepEqual(decodeMessage(encodeMessage(m), 1 << 20), m)
    }))
  })

  it('derives every request id from its payload: a peer cannot pair a certified id with other bytes', () => {
    // What a liar would send: the id (and so the digest) of one payload beside another payload.
    const honest = requestOf(Uint8Array.of(1, 2, 3))
    const forged: Message = { type: 'committed', batch: { ...batch, requests: [{ id: honest.id, payload: Uint8Array.of(9, 9, 9) }] }, cert: { view: 0, seq: 3, digest: digestOf(batch), sigs: [] } }
    const m = decodeMessage(encodeMessage(forged), 1 << 20)
    assert.ok(m.type === 'committed')
    assert.deepEqual(m.batch.requests[0]!.id, requestOf(Uint8Array.of(9, 9, 9)).id)
    assert.notDeepEqual(digestOf(m.batch), digestOf(batch))
    // Ids are not on the wire at all: a request costs its payload and a byte-string head.
    assert.equal(encodeMessage(forged).byteLength, encodeMessage({ type: 'committed', batch: { ...batch, requests: [] }, cert: m.cert }).byteLength + 4)
  })

  it('writes the same bytes as cborg for arrays, bytes, null and uints of every head size, and leaves anything else to it', () => {
    const uint = fc.oneof(fc.nat(30), fc.nat(300), fc.nat(70_000), fc.nat({ max: 2 ** 32 + 5 }), fc.maxSafeNat(), fc.constantFrom(0, -0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER))
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 30 }), fc.uint8Array({ minLength: 250, maxLength: 300 }), fc.constant(new Uint8Array(70_000)))
    const { tree } = fc.letrec((t) => ({ tree: fc.oneof({ depthSize: 'small' }, uint, bytes, fc.constant(null), fc.array(t('tree'), { maxLength: 30 })) }))
    const hex = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString('hex'))
    fc.assert(fc.property(tree, (v) => assert.equal(hex(encodeSimple(v)), hex(encode(v)))))
    for (const other of [-1, 1.5, 2 ** 53, 'a', true, undefined, {}, new Uint16Array(2), [1, [2, 'x']]]) assert.equal(encodeSimple(other), null)
  })

  it('checks the size before decoding', () => {
    assert.throws(() => decodeMessage(encodeMessage(samples[0]!), 10), (e: unknown) => e instanceof DecodeError && /exceeds the limit of 10/.test(e.message))
  })

  it('names the bad field of a malformed message', () => {
    const bad = (v: unknown, re: RegExp): void => assert.throws(() => decodeMessage(encode(v), 1 << 20), (e: unknown) => e instanceof DecodeError && re.test(e.message))
    bad([1, 0, 2, h(4).subarray(1), s(1)], /prepare\.digest: expected 32 bytes/)
    bad([2, -1, 2, h(4), s(1)], /commit\.view/)
    bad([0, 0, 1, [1, h(1), [[h(2)]]], s(1)], /preprepare\.batch\.requests\[0\]: expected bytes/)
    bad([99], /unknown message type/)
    bad({ a: 1 }, /message: expected an array/)
    bad([6, 1], /status: expected 3 fields/)
    assert.throws(() => decodeMessage(Uint8Array.of(0xff, 0x00), 100), DecodeError)
  })
})
