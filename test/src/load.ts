import { generateKeyPair, type KeyPair } from '@vigil/common'
import type { Cluster, Committed } from './cluster.js'

/** Client keys and a mixed kv / mhealth workload for end-to-end tests. */
export function clients(n: number): KeyPair[] {
  return Array.from({ length: n }, () => generateKeyPair())
}

export { diaryEntry } from '@vigil/cli'

/** Submits `count` kv puts spread over clients and peers (skipping peers in `avoid`), all waiting for commit. */
export async function kvLoad(c: Cluster, keys: KeyPair[], instance: string, count: number, prefix: string, avoid: number[] = []): Promise<Committed[]> {
  const via = [...Array(c.size).keys()].filter((i) => !avoid.includes(i))
  return Promise.all(
    Array.from({ length: count }, (_, i) => c.submit(via[i % via.length]!, keys[i % keys.length]!, instance, 'put', { key: `${prefix}${i}`, value: { i, by: i % keys.length } })),
  )
}
