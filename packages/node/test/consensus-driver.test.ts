import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DEFAULT_CONSENSUS, Signer, checkpointSignBytes, commitSignBytes, keyPairFromSeed, sha256, utf8, verifySignature, type SignDomain } from '@vigil/common'
import { Replica, decodeMessage, digestOf, prepareSignBytes, type Message, type StateTransferRequest } from '@vigil/consensus'
import { LedgerStore } from '@vigil/storage'
import { ConsensusDriver } from '../src/consensus/driver.js'
import { createLogger } from '../src/log.js'
import { Metrics } from '../src/metrics.js'
import type { Channel } from '../src/p2p/channel.js'

/**
 * The driver with a real replica (backup 1 of 4) and a real store: what it persists, how, and in
 * which order it steps after a block sync. Peers are played by hand with their real signatures.
 */
const signers = [0, 1, 2, 3].map((i) => new Signer(keyPairFromSeed(new Uint8Array(32).fill(40 + i))))
const domain: SignDomain = { chainId: 'driver-test', validatorsHash: sha256(utf8('driver-test validators')) }
const GENESIS_HASH = sha256(utf8('driver-test genesis'))
const T0 = 1_700_000_000_000

interface Harness {
  driver: ConsensusDriver
  /** The node's clock; executing a block advances it by executeMs. */
  now: number
  executeMs: number
  /** The sync flag of each consensus write, in order. */
  syncs: boolean[]
  /** Consensus writes (once durable) and votes sent, in order. */
  events: string[]
  transfers: StateTransferRequest[]
  executed: number[]
}

let dir: string
let store: LedgerStore
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-driver-'))
  store = await LedgerStore.open(dir)
})
after(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

function harness(): Harness {
  const h: Harness = { driver: undefined as unknown as ConsensusDriver, now: T0, executeMs: 0, syncs: [], events: [], transfers: [], executed: [] }
  const replica = new Replica({
    id: 1,
    n: 4,
    params: DEFAULT_CONSENSUS,
    domain,
    crypto: { sign: (b) => signers[1]!.sign(b), verify: (i, b, sig) => verifySignature(signers[i]!.publicKey, b, sig) },
  })
  const recording = {
    writeConsensus: async (records: Array<{ key: string; value: Uint8Array | null }>, opts: { sync?: boolean } = {}) => {
      h.syncs.push(opts.sync ?? true)
      await store.writeConsensus(records, opts)
      h.events.push('written')
    },
  } as unknown as LedgerStore
  const sent = (frame: Uint8Array): void => void h.events.push(decodeMessage(frame, frame.byteLength).type)
  const channel: Channel = { protocol: 'test', send: (_, f) => (sent(f), true), broadcast: (f) => (sent(f), 3), onFrame: () => {}, counters: () => ({ framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, drops: { queueFull: 0, disconnected: 0, oversized: 0, malformed: 0, unknownPeer: 0, streamError: 0 } }) }
  h.driver = new ConsensusDriver(
    replica,
    recording,
    channel,
    {
      execute: async (d) => (h.executed.push(d.seq), (h.now += h.executeMs), sha256(d.digest)),
      stateTransfer: (req) => h.transfers.push(req),
      halt: (err) => assert.fail(`driver halted: ${(err as Error).message}`),
    },
    new Metrics(),
    createLogger('silent'),
    () => h.now,
  )
  h.driver.push({ type: 'stateTransferred', seq: 0, blockHash: GENESIS_HASH })
  h.driver.push({ type: 'tick', now: T0 })
  return h
}

/** Waits (bounded) until `done`; the driver steps asynchronously around its writes. */
async function until(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10))
  assert.ok(done(), `timed out waiting for ${what}`)
}

/** Peers 0, 2 and 3 send backup 1 what orders `request` at `seq` (on block `parent`), with a hook after the PRE-PREPARE and after the PREPAREs. */
async function order(h: Harness, seq: number, parent: Uint8Array, request: { id: Uint8Array; payload: Uint8Array }, afterPrePrepare = async () => {}, afterPrepares = async () => {}): Promise<void> {
  const [prePrepare, prepares, commits] = orderingMessages(seq, parent, request)
  const from = ([i, msg]: [number, Message]) => h.driver.push({ type: 'message', from: i, msg })
  from(prePrepare)
  await afterPrePrepare()
  prepares.forEach(from)
  await afterPrepares()
  commits.forEach(from)
}

/** The PRE-PREPARE (from 0), PREPAREs (2, 3) and COMMITs (0, 2) that order `request` at `seq`, with their senders. */
function orderingMessages(seq: number, parent: Uint8Array, request: { id: Uint8Array; payload: Uint8Array }): [[number, Message], Array<[number, Message]>, Array<[number, Message]>] {
  const batch = { time: T0, parent, requests: [request] }
  const digest = digestOf(batch)
  return [
    [0, { type: 'preprepare', view: 0, seq, batch, sig: signers[0]!.sign(prepareSignBytes(domain, 0, seq, digest)) }],
    [2, 3].map((i) => [i, { type: 'prepare', view: 0, seq, digest, sig: signers[i]!.sign(prepareSignBytes(domain, 0, seq, digest)) }]),
    [0, 2].map((i) => [i, { type: 'commit', view: 0, seq, digest, sig: signers[i]!.sign(commitSignBytes(domain, 0, seq, digest)) }]),
  ]
}

/** order() at seq 1; resolves once it executed. */
async function commitFirst(h: Harness, request: { id: Uint8Array; payload: Uint8Array }, afterPrePrepare?: () => Promise<void>, afterPrepares?: () => Promise<void>): Promise<void> {
  await order(h, 1, GENESIS_HASH, request, afterPrePrepare, afterPrepares)
  await until('execution', () => h.executed.length === 1)
}

const request = (n: number) => ({ id: sha256(utf8(`request ${n}`)), payload: utf8(`request ${n}`) })

describe('consensus driver', () => {
  it('fsyncs a step that sends a vote, not one that only notes a delivery', async () => {
    const h = harness()
    await commitFirst(
      h,
      request(1),
      () => until('the PREPARE', () => h.syncs.length === 1),
      () => until('the COMMIT', () => h.syncs.length === 2),
    )
    // PRE-PREPARE accepted (sends PREPARE), prepared (sends COMMIT): synced. Committed: delivered, sends nothing.
    assert.deepEqual(h.syncs, [true, true, false])
    assert.deepEqual(h.executed, [1])
    await h.driver.stop()
  })

  it('steps a burst of messages as one round: one synced write, made before the votes go out', async () => {
    const h = harness()
    // Everything that orders seq 1 arrives in one task (as the frames of one socket read do).
    const [prePrepare, prepares, commits] = orderingMessages(1, GENESIS_HASH, request(1))
    for (const [from, msg] of [prePrepare, ...prepares, ...commits]) h.driver.push({ type: 'message', from, msg })
    await until('execution', () => h.executed.length === 1)
    // Unbatched, this was three writes (two synced). Nothing leaves before the one write: the boot
    // steps' STATUS, the PREPARE and the COMMIT all follow it.
    assert.deepEqual(h.syncs, [true])
    assert.deepEqual(h.events, ['written', 'status', 'prepare', 'commit'])
    await h.driver.stop()
  })

  it('does not take a slow execution for a silent primary', async () => {
    const h = harness()
    // Another request waits while the block takes 5 request timeouts to execute (a write stall).
    h.driver.push({ type: 'request', request: request(2) })
    h.executeMs = 5 * DEFAULT_CONSENSUS.viewChangeTimeoutMs
    await commitFirst(h, request(1))
    h.driver.push({ type: 'tick', now: (h.now += 5) })
    // Inputs are stepped in order: once the request after the tick is in, the tick was stepped.
    h.driver.push({ type: 'request', request: request(3) })
    await until('the tick', () => h.driver.status.pendingRequests === 2)
    assert.equal(h.driver.status.viewChanging, false, 'started a view change right after a block executed')
    await h.driver.stop()
  })

  it('after a block sync, steps the new height before the clock: it does not ask again for the transfer it just made', async () => {
    const h = harness()
    // 2f+1 peers certify a checkpoint at 60, beyond this replica's window: it asks for a transfer.
    const blockHash = sha256(utf8('block 60'))
    const sigs = [0, 2, 3].map((replica) => ({ replica, sig: signers[replica]!.sign(checkpointSignBytes(domain, 60, blockHash)) }))
    h.driver.push({ type: 'message', from: 2, msg: { type: 'stable', cert: { seq: 60, blockHash, sigs } } })
    await until('the transfer request', () => h.transfers.length === 1)
    assert.equal(h.transfers[0]!.seq, 60)
    // The node pauses consensus and syncs past the checkpoint, to 75, in more than the retry delay.
    await h.driver.pause()
    h.driver.resume(75, sha256(utf8('block 75')), [], T0 + 10_000)
    await until('the new height', () => h.driver.status.lastExecuted === 75)
    assert.equal(h.transfers.length, 1, 'asked for another transfer on resuming')
    await h.driver.stop()
  })

  it('holds the votes that arrive during a block sync and steps them after the new height', async () => {
    const h = harness()
    await h.driver.pause()
    // While the node syncs to 25, the others order 26 on block 25.
    const head = sha256(utf8('block 25'))
    await order(h, 26, head, request(26))
    h.driver.resume(25, head, [], T0 + 1_000)
    await until('block 26 executed', () => h.executed.includes(26))
    await h.driver.stop()
  })
})
