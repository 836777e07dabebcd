import { waitFor } from '../cluster.js'
import type { TestnetDriver } from './driver.js'

/** Waiting on peers' progress, with bounded waits that say what was still missing. */
export const all = (t: TestnetDriver): number[] => [...Array(t.size).keys()]
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Whether peer i's /readyz says ready (a Cluster has `api` too). */
export async function ready(t: Pick<TestnetDriver, 'api'>, i: number): Promise<boolean> {
  return (await fetch(`${t.api(i).base}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => null))?.ok === true
}

export async function waitReady(t: TestnetDriver, peers: number[], timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => (await Promise.all(peers.map((i) => ready(t, i)))).every(Boolean), timeoutMs, async () => `not ready: ${(await Promise.all(peers.map(async (i) => ((await ready(t, i)) ? '' : `vp${i}`)))).filter(Boolean).join(',')}`)
}

export async function maxHeight(t: TestnetDriver, peers: number[]): Promise<number> {
  return Math.max(...(await Promise.all(peers.map(async (i) => (await t.status(i))?.height ?? -1))))
}

/** Waits until peer i has at least `height` blocks and is ready (connected to a quorum, not syncing). */
export async function waitCaughtUp(t: TestnetDriver, i: number, height: number, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    async () => ((await t.status(i))?.height ?? -1) >= height && (await ready(t, i)),
    timeoutMs,
    async () => `vp${i} did not catch up to height ${height}: ${JSON.stringify(await t.status(i))}\n${await t.logTail(i, 15)}`,
  )
}

/** The primary as seen by the given peers, which must agree. */
export async function primaryOf(t: TestnetDriver, peers: number[]): Promise<{ primary: number; view: number }> {
  const st = await Promise.all(peers.map((i) => t.status(i)))
  const views = new Set(st.map((s) => `${s?.view}/${s?.primary}`))
  if (views.size !== 1) throw new Error(`peers disagree on the view: ${[...views].join(' ')}`)
  return { primary: st[0]!.primary, view: st[0]!.view }
}

/** Runs a scenario on a fresh testnet and always brings it down; a failure carries the peers' logs. */
export async function withTestnet<R>(make: () => Promise<TestnetDriver>, scenario: (t: TestnetDriver) => Promise<R>): Promise<R> {
  const t = await make()
  try {
    return await scenario(t)
  } catch (err) {
    const logs = await Promise.all(all(t).map(async (i) => `--- vp${i} ---\n${await t.logTail(i, 12)}`))
    if (err instanceof Error) err.message += `\n${logs.join('\n')}`
    throw err
  } finally {
    await t.down()
  }
}
