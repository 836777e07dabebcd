import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import type { KeyPair } from '@vigil/common'
import { Cluster, waitFor, type ClusterOptions, type Committed } from './cluster.js'
import { sameChain } from './checks.js'
import { kvLoad } from './load.js'

/**
 * End-to-end checks around one Byzantine validator (byzantine-peer.ts) among honest peers:
 * starting it in a Cluster, waiting for its misbehaviour, and what the honest peers must keep.
 */
const BYZANTINE_PEER = new URL('./byzantine-peer.js', import.meta.url).pathname

/** A testnet (not started) whose member `byz` runs the Byzantine peer with these behaviours. */
export function byzantineCluster(byz: number, behave: string, o: ClusterOptions = {}): Promise<Cluster> {
  return Cluster.create({ ...o, entry: { [byz]: (home) => [BYZANTINE_PEER, home, '--behave', behave] } })
}

function logOf(c: Cluster, i: number): string {
  try {
    return readFileSync(c.logFile(i), 'utf8')
  } catch {
    return ''
  }
}

/** The Byzantine peer's reports of one behaviour (its warn lines with that `byzantine` field), those sent to `to` if given. */
export function misbehaved(c: Cluster, byz: number, behaviour: string, to?: number): Array<Record<string, unknown>> {
  return logOf(c, byz)
    .split('\n')
    .filter((l) => l.includes(`"byzantine":"${behaviour}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => to === undefined || e.to === to)
}

export async function waitMisbehaved(c: Cluster, byz: number, behaviour: string, what: string, to?: number, timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => misbehaved(c, byz, behaviour, to).length > 0, timeoutMs, () => `vp${byz} never got to ${what} (${behaviour}):\n${c.logTail(byz, 15)}`)
}

async function metricsText(c: Cluster, i: number): Promise<string> {
  return (await fetch(`${c.manifest.nodes[i]!.api}/metrics`, { signal: AbortSignal.timeout(10_000) })).text()
}

/** One counter sample from peer i's /metrics, 0 when absent. */
export async function metric(c: Cluster, i: number, name: string, labels = ''): Promise<number> {
  const text = await metricsText(c, i)
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels === '' ? '' : `{${labels}}`} `))
  return line === undefined ? 0 : Number(line.split(' ')[1])
}

/**
 * Every listed peer is connected to every other validator (its /metrics), so that a message the
 * liar sends reaches everyone it is meant for: readiness needs only a quorum of links.
 */
export async function fullyConnected(c: Cluster, peers: number[] = [...Array(c.size).keys()], timeoutMs = 60_000): Promise<void> {
  const links = () => Promise.all(peers.map((i) => metric(c, i, 'vigil_peers_connected').catch(() => -1)))
  await waitFor(async () => (await links()).every((n) => n === c.size - 1), timeoutMs, async () => `peers ${peers.join(',')} not all connected: ${JSON.stringify(await links())}`)
}

/** Peer i names `byz` as faulty: a fault counted against it in /metrics and a log line saying why (a misbehaviour or a sync ban). */
export async function assertIdentified(c: Cluster, i: number, byz: number): Promise<void> {
  const faults = await metric(c, i, 'vigil_peer_faults_total', `replica="${byz}"`)
  assert.ok(faults > 0, `vp${i} does not count vp${byz} as faulty in /metrics (vigil_peer_faults_total{replica="${byz}"} is ${faults})`)
  const lines = logOf(c, i).split('\n')
  const named = lines.some((l) => (l.includes('"msg":"peer misbehaved"') && l.includes(`"replica":${byz},`)) || l.includes(`banned vp${byz} from block sync`))
  assert.ok(named, `vp${i}'s log never names vp${byz} as misbehaving (no "peer misbehaved" with replica ${byz}, no sync ban)`)
}

/** No honest peer is counted as faulty by peer i (the liar must not get honest peers banned). */
export async function assertNoHonestBlamed(c: Cluster, i: number, honest: number[]): Promise<void> {
  for (const h of honest) {
    if (h === i) continue
    const n = await metric(c, i, 'vigil_peer_faults_total', `replica="${h}"`)
    assert.equal(n, 0, `vp${i} counts honest vp${h} as faulty ${n} times:\n${logOf(c, i).split('\n').filter((l) => l.includes(`vp${h}`) || l.includes(`"replica":${h},`)).slice(-5).join('\n')}`)
  }
}

export interface HonestCheck {
  byz: number
  honest: number[]
  /** Every transaction the network acknowledged so far (committed with this result). */
  acked: Committed[]
  keys: KeyPair[]
  instance: string
}

async function heights(c: Cluster, peers: number[]): Promise<number[]> {
  return Promise.all(peers.map(async (i) => (await c.status(i))?.height ?? -1))
}

/**
 * What one Byzantine validator must never take from the honest peers: one chain (the same block
 * hash at every height they share), commits that continue (new writes through honest peers are
 * acknowledged and reach every honest peer), and every acknowledged transaction on every honest
 * peer at its acknowledged place with its acknowledged result. Returns every acknowledged write.
 */
export async function assertHonestHold(c: Cluster, h: HonestCheck): Promise<Committed[]> {
  const shared = Math.min(...(await heights(c, h.honest)))
  await sameChain(c, h.honest, shared)
  const more = await kvLoad(c, h.keys, h.instance, 6, `hold-${shared}-`, [...Array(c.size).keys()].filter((i) => !h.honest.includes(i)))
  for (const r of more) assert.equal(r.result.ok, true, `write ${r.txId} failed after the attack: ${r.result.error}`)
  const acked = [...h.acked, ...more]
  const top = Math.max(...acked.map((r) => r.height))
  await c.waitHeight(top, h.honest, 90_000)
  await sameChain(c, h.honest, top)
  for (const r of acked) {
    for (const i of h.honest) {
      const t = await c.api(i).get<{ height: number; index: number; result: { ok: boolean; code: number } }>(`/v1/tx/${r.txId}`).catch((e: Error) => e)
      assert.ok(!(t instanceof Error), `vp${i} does not hold acknowledged ${r.txId}: ${t instanceof Error ? t.message : ''}`)
      assert.deepEqual([t.height, t.index, t.result.code], [r.height, r.index, r.result.code], `vp${i} has ${r.txId} at ${t.height}/${t.index} with code ${t.result.code}, acknowledged at ${r.height}/${r.index} with code ${r.result.code}`)
    }
  }
  return acked
}
