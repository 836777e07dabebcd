import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { GOSSIP_MAX_TXS, OFFER_MAX_TXS, decodeGossip, offerPending } from '../src/mempool/gossip.js'

const tx = (i: number): Uint8Array => new TextEncoder().encode(`tx-${i}`)

describe('offering pending transactions to a peer that connects', () => {
  it('sends the oldest first, in gossip frames, and at most OFFER_MAX_TXS of them', () => {
    const frames: Uint8Array[] = []
    const total = OFFER_MAX_TXS + 100
    const offered = offerPending(Array.from({ length: total }, (_, i) => tx(i)), (f) => frames.push(f))
    assert.equal(offered, OFFER_MAX_TXS)
    const got = frames.flatMap((f) => decodeGossip(f))
    assert.equal(got.length, OFFER_MAX_TXS)
    assert.ok(frames.every((f) => decodeGossip(f).length <= GOSSIP_MAX_TXS))
    got.forEach((b, i) => assert.deepEqual(b, tx(i)))
  })

  it('sends nothing when nothing is pending', () => {
    const frames: Uint8Array[] = []
    assert.equal(offerPending([], (f) => frames.push(f)), 0)
    assert.equal(frames.length, 0)
  })
})
