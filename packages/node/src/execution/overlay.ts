import { MAX_KEY_LENGTH, MAX_TX_BYTES, decodeCanonical, encode, expectJson, type StateWrite } from '@vigil/common'
import { ExecError, ResultCode } from './errors.js'
import type { ScanOptions, StateReader } from './types.js'

/** Every value is written by one transaction, so none can be larger than a transaction. */
export const MAX_VALUE_BYTES = MAX_TX_BYTES
/** Most entries one scan returns: queries page through larger ranges. */
export const MAX_SCAN_LIMIT = 1000

/** One instance's keys as JSON values: all a contract method can reach. get gives undefined for an absent key. */
export interface Namespace {
  get(key: string): Promise<unknown>
  /** Stores a JSON value (null included); deleting is a separate operation. */
  put(key: string, value: unknown): void
  delete(key: string): void
}

/** Read-only view for queries, over committed state. */
export interface ReadNamespace {
  get(key: string): Promise<unknown>
  scan(opts: ScanOptions): Promise<Array<{ key: string; value: unknown }>>
}

// NAME_RE keeps NUL out of instance names, so the joined slot is unambiguous.
const slot = (instance: string, key: string): string => `${instance}\u0000${key}`

/** A stored value that does not decode means corrupted state: thrown, never a tx result. */
function decodeValue(bytes: Uint8Array, instance: string, key: string): unknown {
  return decodeCanonical(bytes, MAX_VALUE_BYTES, `state ${instance}/${key}`)
}

/**
 * The state seen by one block: committed state plus the writes of the block's successful
 * transactions so far. Every read is cached, so a key is fetched from storage at most once
 * per block (bounded by the block's transaction count times the reads of one transaction).
 */
export class BlockOverlay {
  readonly #base: StateReader
  readonly #values = new Map<string, Uint8Array | null>()

  constructor(base: StateReader) {
    this.#base = base
  }

  async get(instance: string, key: string): Promise<Uint8Array | null> {
    const s = slot(instance, key)
    const cached = this.#values.get(s)
    if (cached !== undefined) return cached
    const value = await this.#base.get(instance, key)
    this.#values.set(s, value)
    return value
  }

  /** Fetches keys not yet cached in one round trip, so execution does not wait on storage per read. */
  async preload(keys: ReadonlyArray<{ instance: string; key: string }>): Promise<void> {
    const getMany = this.#base.getMany
    if (getMany === undefined) return
    const missing = [...new Map(keys.map((k) => [slot(k.instance, k.key), k])).entries()].filter(([s]) => !this.#values.has(s))
    if (missing.length === 0) return
    const values = await getMany.call(this.#base, missing.map(([, k]) => k))
    missing.forEach(([s], i) => this.#values.set(s, values[i] ?? null))
  }

  /** A cached value, decoded; undefined when not cached or absent. */
  peek(instance: string, key: string): unknown {
    const v = this.#values.get(slot(instance, key))
    return v === undefined || v === null ? undefined : decodeValue(v, instance, key)
  }

  apply(writes: readonly StateWrite[]): void {
    for (const w of writes) this.#values.set(slot(w.instance, w.key), w.value)
  }
}

/** One transaction's pending writes over the block; dropped if the transaction fails. */
export class TxOverlay {
  readonly #block: BlockOverlay
  readonly #writes = new Map<string, StateWrite>()

  constructor(block: BlockOverlay) {
    this.#block = block
  }

  async get(instance: string, key: string): Promise<unknown> {
    const pending = this.#writes.get(slot(instance, key))
    const bytes = pending !== undefined ? pending.value : await this.#block.get(instance, key)
    return bytes === null ? undefined : decodeValue(bytes, instance, key)
  }

  put(instance: string, key: string, value: unknown): void {
    // Values come from JSON arguments; the check is a cheap guard that state stays JSON.
    try {
      expectJson(value, 'value')
    } catch (err) {
      throw new ExecError(ResultCode.BAD_ARGS, (err as Error).message)
    }
    const bytes = encode(value)
    if (bytes.byteLength > MAX_VALUE_BYTES) throw new ExecError(ResultCode.BAD_ARGS, `value of ${bytes.byteLength} bytes is over the limit of ${MAX_VALUE_BYTES}`)
    this.#write(instance, key, bytes)
  }

  delete(instance: string, key: string): void {
    this.#write(instance, key, null)
  }

  #write(instance: string, key: string, value: Uint8Array | null): void {
    if (key.length > MAX_KEY_LENGTH) throw new ExecError(ResultCode.BAD_ARGS, `key is longer than ${MAX_KEY_LENGTH} characters`)
    this.#writes.set(slot(instance, key), { instance, key, value })
  }

  namespace(instance: string): Namespace {
    return {
      get: (key) => this.get(instance, key),
      put: (key, value) => this.put(instance, key, value),
      delete: (key) => this.delete(instance, key),
    }
  }

  /** One write per key (the last), sorted by instance then key (NUL sorts first) so the write set is canonical. */
  writes(): StateWrite[] {
    return [...this.#writes.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, w]) => w)
  }
}

export function readNamespace(state: StateReader, instance: string): ReadNamespace {
  return {
    get: async (key) => {
      const bytes = await state.get(instance, key)
      return bytes === null ? undefined : decodeValue(bytes, instance, key)
    },
    scan: async (opts) => {
      const rows = await state.scan(instance, { ...opts, limit: Math.min(opts.limit, MAX_SCAN_LIMIT) })
      return rows.map((r) => ({ key: r.key, value: decodeValue(r.value, instance, r.key) }))
    },
  }
}
