import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair, Signer, type Tx } from '@vigil/common'
import { ApiRequestError, makeTx, sendTx } from '@vigil/cli'
import { waitFor } from '../src/cluster.js'
import { netnsSkipReason, netnsTestnet } from '../src/netns-testnet.js'
import { checkChains, waitConverged } from '../src/scenarios/checker.js'
import type { TestnetDriver } from '../src/scenarios/driver.js'
import { all, primaryOf, sleep, withTestnet } from '../src/scenarios/peers.js'
import { INSTANCE, deployInstance } from '../src/scenarios/workload.js'

/**
 * Issue 18: networks of 4 to 7 peers made by `vigil testnet init --nodes N` (through
 * deploy/netns-testnet.sh) are safe under partitions for every n, not only n = 3f+1. A side
 * holding a quorum keeps committing and the other side commits nothing; a split where no side
 * holds a quorum commits nothing at all; nothing forks, and after each heal every peer holds
 * every write at the same place.
 */

// How long a side without a quorum is watched: longer than the view changes a side needs to
// reach a primary of its own, so a quorum too small to intersect would show up as a fork.
const NO_QUORUM_WATCH_MS = 12_000
const COMMIT_WAIT_MS = 120_000

// The quorum each n needs, ceil((n+f+1)/2), so that any two quorums share f+1 validators:
// written out rather than taken from the code under test, whose formula is what is checked.
const QUORUM: Record<number, number> = { 4: 3, 5: 4, 6: 4, 7: 5 }

/** Writes sent with wait=none: one that cannot commit yet costs no client timeout, and is followed up later. */
class Writes {
  private readonly txs = new Map<string, Tx>()
  private readonly signer = new Signer(generateKeyPair())

  constructor(private readonly t: TestnetDriver) {}

  /** One kv put through each peer in `via`; returns their ids. */
  async submit(via: number[], tag: string): Promise<string[]> {
    return Promise.all(
      via.map(async (i, k) => {
        const tx = makeTx(this.t.chainId, this.signer, INSTANCE, 'put', { key: `${tag}-${this.txs.size + k}`, value: i })
        const { txId } = await sendTx(this.t.api(i), tx, false)
        this.txs.set(txId, tx)
        return txId
      }),
    )
  }

  /** Sends the same signed transactions again through peer `via`, as a client that saw no commit does. */
  async resend(ids: string[], via: number): Promise<void> {
    for (const id of ids) await sendTx(this.t.api(via), this.txs.get(id)!, false)
  }
}

/** Where peer i holds transaction `txId` ("height/index"), or null while it does not. */
async function placeOn(t: TestnetDriver, i: number, txId: string): Promise<string | null> {
  try {
    const r = await t.api(i).get<{ height: number; index: number }>(`/v1/tx/${txId}`)
    return `${r.height}/${r.index}`
  } catch (err) {
    if (err instanceof ApiRequestError && err.status === 404) return null
    throw err
  }
}

const names = (peers: number[]) => peers.map((i) => `vp${i}`).join(',')

/** Waits until every peer in `peers` holds every transaction in `ids`, all at the same place. */
async function waitCommitted(t: TestnetDriver, peers: number[], ids: string[], what: string): Promise<void> {
  let missing: string[] = []
  await waitFor(
    async () => {
      missing = []
      for (const id of ids) {
        const places = await Promise.all(peers.map((i) => placeOn(t, i, id)))
        if (places.some((p) => p === null)) missing.push(`${id.slice(0, 12)} missing on ${names(peers.filter((_, k) => places[k] === null))}`)
        else assert.equal(new Set(places).size, 1, `${what}: peers ${names(peers)} hold tx ${id} at different places: ${places.join(' ')}`)
      }
      return missing.length === 0
    },
    COMMIT_WAIT_MS,
    () => `${what}: not committed on every peer of ${names(peers)}: ${missing.join('; ')}`,
    500,
  )
}

/** Asserts that no peer holds any transaction in `ids`. */
async function assertUncommitted(t: TestnetDriver, ids: string[], what: string): Promise<void> {
  for (const id of ids) {
    const places = await Promise.all(all(t).map((i) => placeOn(t, i, id)))
    const holders = all(t).filter((_, k) => places[k] !== null)
    assert.deepEqual(holders, [], `${what}: tx ${id} committed on ${names(holders)} (at ${places.filter((p) => p !== null).join(' ')})`)
  }
}

async function heights(t: TestnetDriver, peers: number[]): Promise<Array<number | null>> {
  return Promise.all(peers.map(async (i) => (await t.status(i))?.height ?? null))
}

/**
 * The quorum split puts exactly a quorum on one side. For odd n the minority holds the primary,
 * so the quorum side has to change view first; for even n the primary stays on the quorum side.
 * Minority peers are taken just below the primary so that the next view's primary is on the
 * quorum side.
 */
function quorumSplit(n: number, primary: number): { quorum: number[]; minority: number[] } {
  const m = n - QUORUM[n]!
  const first = n % 2 === 1 ? 0 : 1
  const minority = Array.from({ length: m }, (_, j) => (primary - first - j + 2 * n) % n)
  return { quorum: [...Array(n).keys()].filter((i) => !minority.includes(i)), minority }
}

async function partitionScenario(t: TestnetDriver): Promise<Record<string, unknown>> {
  const n = t.size
  const q = QUORUM[n]!
  const w = new Writes(t)
  const t0 = Date.now()
  const seconds: Record<string, number> = {}
  let mark = t0
  const lap = (phase: string) => {
    seconds[phase] = Math.round((Date.now() - mark) / 100) / 10
    mark = Date.now()
  }
  await deployInstance(t)
  await waitConverged(t, all(t))
  lap('start')

  // (a) A split with a quorum on one side.
  const { primary } = await primaryOf(t, all(t))
  const { quorum, minority } = quorumSplit(n, primary)
  assert.equal(quorum.length, q)
  await t.partition([quorum, minority])
  const splitAt = Date.now()
  const minorityBefore = await heights(t, minority)
  const minorityWrites = await w.submit(minority, 'minority')
  const quorumWrites = await w.submit([...quorum, ...quorum], 'quorum')
  await waitCommitted(t, quorum, quorumWrites, `split ${names(quorum)} | ${names(minority)} (primary vp${primary}): writes on the quorum side`)
  await sleep(Math.max(0, splitAt + 5000 - Date.now()))
  await checkChains(t, all(t))
  assert.deepEqual(await heights(t, minority), minorityBefore, `split ${names(quorum)} | ${names(minority)}: the minority side committed`)
  await assertUncommitted(t, minorityWrites, `split ${names(quorum)} | ${names(minority)}: writes on the minority side`)
  const viewAfterSplit = (await primaryOf(t, quorum)).view
  lap('quorumSplit')

  // (b) Heal: the minority catches up and every peer converges. Gossip carries a transaction once,
  // when a peer admits it, so one that only a cut-off peer holds may never reach a primary: its
  // client sends it again through a quorum-side peer, and it must commit once, the same everywhere.
  await t.heal()
  await w.resend(minorityWrites, quorum[0]!)
  await waitCommitted(t, all(t), [...quorumWrites, ...minorityWrites], 'after healing the quorum split')
  await waitConverged(t, all(t), COMMIT_WAIT_MS)
  await checkChains(t, all(t))
  lap('heal1')

  // (c) A split where no side holds a quorum: nothing commits anywhere.
  const sides = [[...Array(Math.ceil(n / 2)).keys()], [...Array(n).keys()].slice(Math.ceil(n / 2))]
  assert.ok(sides.every((s) => s.length < q), `no side of ${sides.map(names).join(' | ')} may hold a quorum of ${q}`)
  const split = sides.map(names).join(' | ')
  await t.partition(sides)
  const before = await heights(t, all(t))
  const pending = await w.submit(all(t), 'no-quorum')
  await sleep(NO_QUORUM_WATCH_MS)
  await checkChains(t, all(t))
  assert.deepEqual(await heights(t, all(t)), before, `split ${split}: a side without a quorum committed`)
  await assertUncommitted(t, pending, `split ${split}`)
  lap('noQuorumSplit')

  // (d) Heal: the pending writes commit, and so does a new one.
  await t.heal()
  await waitCommitted(t, all(t), pending, `after healing the split ${split}: the writes submitted while split`)
  lap('heal2')
  const last = await w.submit([0], 'healed')
  await waitCommitted(t, all(t), last, 'a write after the last heal')
  const st = await waitConverged(t, all(t), COMMIT_WAIT_MS)
  await checkChains(t, all(t))
  lap('end')

  return { n, quorum: q, split1: `${names(quorum)} | ${names(minority)}`, viewAfterSplit, split2: split, height: st[0]!.height, view: st[0]!.view, seconds }
}

describe('partitions of 4 to 7 peers on the network-namespace testnet', { skip: netnsSkipReason, timeout: 1_500_000 }, () => {
  for (const n of [4, 5, 6, 7]) {
    it(`n = ${n}: a quorum side (${QUORUM[n]}/${n - QUORUM[n]!}) commits alone, a ${Math.ceil(n / 2)}/${Math.floor(n / 2)} split commits nothing, no fork, heals converge`, { timeout: 360_000 }, async (ctx) => {
      // Names and a subnet of its own: netns-faults.test.ts may be running its testnet at the same time.
      const report = await withTestnet(() => netnsTestnet(n, 'vigilpart', '10.77.2'), partitionScenario)
      ctx.diagnostic(JSON.stringify(report))
    })
  }
})
