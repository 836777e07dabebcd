import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { keyOf } from '@vigil/common'
import { RequestPool } from '../src/mempool.js'
import { request } from './harness.js'

const key = (i: number): string => keyOf(request(i).id)
const keys = (...is: number[]): string[] => is.map(key)
const taken = (pool: RequestPool, max = 1000): string[] => pool.take(max, 1 << 30).keys

describe('request pool', () => {
  it('takes pending requests in arrival order and skips delivered ones, however many', () => {
    const pool = new RequestPool(10_000)
    for (let i = 0; i < 5000; i++) assert.equal(pool.add(request(i), i), null)
    // Delivered out of arrival order (another primary's batches): every other one, then the first.
    pool.markDelivered(1, keys(...Array.from({ length: 2500 }, (_, j) => 2 * j + 1)))
    pool.markDelivered(2, keys(0))
    assert.equal(pool.size, 2499)
    assert.equal(pool.oldestArrival(), 2)
    assert.equal(pool.oldestKey(), key(2))
    assert.deepEqual(taken(pool, 3), keys(2, 4, 6))
    assert.equal(pool.pendingBytes, Array.from({ length: 2499 }, (_, j) => request(2 * j + 2).payload.byteLength).reduce((a, b) => a + b))
    assert.equal(pool.add(request(3), 9), 'duplicate request (already delivered)')
    assert.equal(pool.add(request(4), 9), 'duplicate request')
  })

  it('forgets a delivered id only at the sequence number it was last delivered at', () => {
    const pool = new RequestPool(10)
    pool.add(request(1), 0)
    pool.markDelivered(1, keys(1, 2))
    pool.markDelivered(3, keys(2))
    assert.deepEqual(pool.forget(2), [1])
    assert.ok(!pool.isDelivered(key(1)))
    assert.ok(pool.isDelivered(key(2)))
    assert.equal(pool.add(request(1), 5), null, 'a forgotten id can be proposed again')
    assert.deepEqual(pool.forget(3), [3])
    assert.ok(!pool.isDelivered(key(2)))
    assert.ok(pool.isPending(key(1)))
  })

  it('caps pending requests and clears them after a state transfer, keeping the dedup memory', () => {
    const pool = new RequestPool(2)
    pool.add(request(1), 0)
    pool.add(request(2), 0)
    assert.equal(pool.add(request(3), 0), 'request pool full')
    pool.markDelivered(1, keys(1))
    assert.equal(pool.add(request(3), 1), null)
    pool.clearPending()
    assert.equal(pool.size, 0)
    assert.equal(pool.pendingBytes, 0)
    assert.equal(pool.oldestArrival(), null)
    assert.deepEqual(taken(pool), [])
    assert.ok(pool.isDelivered(key(1)))
    assert.equal(pool.add(request(2), 2), null)
    assert.deepEqual(taken(pool), keys(2))
  })
})
