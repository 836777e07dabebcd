import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { Backoff } from '../src/p2p/backoff.js'
import { FrameTooLargeError, MalformedFrameError } from '../src/p2p/errors.js'
import { encodedFrameLength, encodeFrame, encodeFrames, FrameDecoder, varintLength, writeVarint } from '../src/p2p/framing.js'

function decodeAll(decoder: FrameDecoder, chunks: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = []
  for (const c of chunks) decoder.push(c, (f) => out.push(new Uint8Array(f)))
  return out
}

/** Splits bytes at the given cut points. */
function split(buf: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (buf.byteLength + 1)))].sort((a, b) => a - b)
  const parts: Uint8Array[] = []
  let prev = 0
  for (const p of [...points, buf.byteLength]) {
    parts.push(buf.subarray(prev, p))
    prev = p
  }
  return parts
}

describe('p2p framing', () => {
  it('writes varints like unsigned LEB128', () => {
    for (const [n, hex] of [[0, '00'], [127, '7f'], [128, '8001'], [300, 'ac02'], [16384, '808001']] as const) {
      const out = new Uint8Array(varintLength(n))
      assert.equal(writeVarint(n, out, 0), out.byteLength)
      assert.equal(Buffer.from(out).toString('hex'), hex)
    }
  })

  it('round-trips any frames however the bytes are chunked', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (frames, cuts) => {
        const total = frames.reduce((s, f) => s + encodedFrameLength(f), 0)
        const wire = encodeFrames(frames, total)
        const decoder = new FrameDecoder(600)
        assert.deepEqual(decodeAll(decoder, split(wire, cuts)), frames.map((f) => new Uint8Array(f)))
        assert.ok(decoder.idle)
      }),
    )
  })

  it('refuses an oversized frame on its length prefix, before any body byte arrives', () => {
    const decoder = new FrameDecoder(1024)
    const prefixOnly = encodeFrame(new Uint8Array(1025)).subarray(0, varintLength(1025))
    assert.throws(() => decoder.push(prefixOnly, () => assert.fail('must not deliver')), FrameTooLargeError)
    // A ~1 GiB announcement is refused as soon as the partial prefix (a lower bound) exceeds the limit.
    const huge = new Uint8Array(varintLength(2 ** 30 - 1))
    writeVarint(2 ** 30 - 1, huge, 0)
    const d2 = new FrameDecoder(1024)
    assert.throws(() => d2.push(huge.subarray(0, 2), () => {}), (err: unknown) => err instanceof FrameTooLargeError && err.length === 2 ** 14 - 1)
    // A frame of exactly the limit passes.
    assert.equal(decodeAll(new FrameDecoder(1024), [encodeFrame(new Uint8Array(1024))])[0]?.byteLength, 1024)
  })

  it('refuses a length prefix longer than 5 bytes', () => {
    const decoder = new FrameDecoder(2 ** 26)
    assert.throws(() => decoder.push(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x01), () => {}), MalformedFrameError)
  })

  it('backs off exponentially with jitter, capped, and resets', () => {
    const b = new Backoff({ minMs: 100, maxMs: 5000 }, () => 1)
    assert.deepEqual(Array.from({ length: 8 }, () => b.next()), [100, 200, 400, 800, 1600, 3200, 5000, 5000])
    const low = new Backoff({ minMs: 100, maxMs: 5000 }, () => 0)
    assert.deepEqual([low.next(), low.next()], [50, 100])
    b.reset()
    assert.equal(b.next(), 100)
    assert.throws(() => new Backoff({ minMs: 0, maxMs: 1 }))
  })
})
