import { compareBytes, utf8, type StateWrite, type TxResult } from '@vigil/common'
import type { ScanOptions, StateReader } from './types.js'

/**
 * World state in memory: for tests, the simulator and dry runs. Not for large states: a scan
 * sorts the instance's keys.
 */
export class MemoryState implements StateReader {
  readonly #instances = new Map<string, Map<string, Uint8Array>>()

  async get(instance: string, key: string): Promise<Uint8Array | null> {
    return this.#instances.get(instance)?.get(key) ?? null
  }

  /** In UTF-8 byte order, as the LevelDB store scans. */
  async scan(instance: string, { prefix = '', gte = '', lt, limit }: ScanOptions): Promise<Array<{ key: string; value: Uint8Array }>> {
    const values = this.#instances.get(instance)
    if (values === undefined) return []
    const from = utf8(gte)
    const to = lt === undefined ? undefined : utf8(lt)
    const keys = [...values.keys()]
      .map((key) => ({ key, bytes: utf8(key) }))
      .filter(({ key, bytes }) => key.startsWith(prefix) && compareBytes(bytes, from) >= 0 && (to === undefined || compareBytes(bytes, to) < 0))
      .sort((a, b) => compareBytes(a.bytes, b.bytes))
    return keys.slice(0, limit).map(({ key }) => ({ key, value: values.get(key)! }))
  }

  /** Applies a block's results as storage would: every write of every result, in order. */
  commit(results: readonly TxResult[]): void {
    for (const r of results) for (const w of r.writes) this.#write(w)
  }

  #write({ instance, key, value }: StateWrite): void {
    let values = this.#instances.get(instance)
    if (values === undefined) this.#instances.set(instance, (values = new Map()))
    if (value === null) values.delete(key)
    else values.set(key, value)
  }
}
