import { MAX_KEY_LENGTH, MAX_TX_BYTES, decodeCanonical, expectJson, sortInPlace, type StateWrite } from '@vigil/common'
import { ExecError, ResultCode } from './errors.js'
import type { ScanOptions, StateReader } from './types.js'
import { copyValue, encodeValue } from './value-codec.js'

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
 * A slot's value in a block: its bytes (null = absent) and, once known, what they decode to.
 * The decoded form is never handed out (contracts may mutate what they read): reads get a copy.
 */
interface Slot {
  bytes: Uint8Array | null
  decoded: unknown
}

/**
 * The state seen by one block: committed state plus the writes of the block's successful
 * transactions so far. Every read is cached, so a key is fetched from storage at most once
 * per block (bounded by the block's transaction count times the reads of one transaction),
 * and bytes are decoded at most once: a value several transactions read, or one a transaction
 * wrote, is copied rather than decoded again.
 */
export class BlockOverlay {
  readonly #base: StateReader
  readonly #slots = new Map<string, Slot>()

  constructor(base: StateReader) {
    this.#base = base
  }

  async #slot(instance: string, key: string): Promise<Slot> {
    const s = slot(instance, key)
    const cached = this.#slots.get(s)
    if (cached !== undefined) return cached
    const fresh: Slot = { bytes: await this.#base.get(instance, key), decoded: undefined }
    this.#slots.set(s, fresh)
    return fresh
  }

  /** The value at a key, decoded (the cached decoding itself: callers copy it before a contract sees it); undefined when absent. */
  async get(instance: string, key: string): Promise<unknown> {
    return decoded(await this.#slot(instance, key), instance, key)
  }

  /** Fetches keys not yet cached in one round trip, so execution does not wait on storage per read. */
  async preload(keys: ReadonlyArray<{ instance: string; key: string }>): Promise<void> {
    const getMany = this.#base.getMany
    if (getMany === undefined) return
    const missing = [...new Map(keys.map((k) => [slot(k.instance, k.key), k])).entries()].filter(([s]) => !this.#slots.has(s))
    if (missing.length === 0) return
    const values = await getMany.call(this.#base, missing.map(([, k]) => k))
    missing.forEach(([s], i) => this.#slots.set(s, { bytes: values[i] ?? null, decoded: undefined }))
  }

  /** A cached value, decoded (not a copy: for reading only); undefined when not cached or absent. */
  peek(instance: string, key: string): unknown {
    const cached = this.#slots.get(slot(instance, key))
    return cached === undefined ? undefined : decoded(cached, instance, key)
  }

  /** Takes a successful transaction's writes. */
  apply(tx: TxOverlay): void {
    for (const [s, w] of tx.pending()) this.#slots.set(s, w.slot)
  }
}

function decoded(s: Slot, instance: string, key: string): unknown {
  if (s.bytes === null) return undefined
  if (s.decoded === undefined) s.decoded = decodeValue(s.bytes, instance, key)
  return s.decoded
}

interface PendingWrite {
  write: StateWrite
  slot: Slot
}

/** One transaction's pending writes over the block; dropped if the transaction fails. */
export class TxOverlay {
  readonly #block: BlockOverlay
  readonly #writes = new Map<string, PendingWrite>()

  constructor(block: BlockOverlay) {
    this.#block = block
  }

  async get(instance: string, key: string): Promise<unknown> {
    const pending = this.#writes.get(slot(instance, key))
    const value = pending !== undefined ? decoded(pending.slot, instance, key) : await this.#block.get(instance, key)
    return copyValue(value)
  }

  put(instance: string, key: string, value: unknown): void {
    // Values come from JSON arguments; the check is a cheap guard that state stays JSON.
    try {
      expectJson(value, 'value')
    } catch (err) {
      throw new ExecError(ResultCode.BAD_ARGS, (err as Error).message)
    }
    const { bytes, decoded } = encodeValue(value)
    if (bytes.byteLength > MAX_VALUE_BYTES) throw new ExecError(ResultCode.BAD_ARGS, `value of ${bytes.byteLength} bytes is over the limit of ${MAX_VALUE_BYTES}`)
    this.#write(instance, key, { bytes, decoded })
  }

  delete(instance: string, key: string): void {
    this.#write(instance, key, { bytes: null, decoded: undefined })
  }

  #write(instance: string, key: string, value: Slot): void {
    if (key.length > MAX_KEY_LENGTH) throw new ExecError(ResultCode.BAD_ARGS, `key is longer than ${MAX_KEY_LENGTH} characters`)
    this.#writes.set(slot(instance, key), { write: { instance, key, value: value.bytes }, slot: value })
  }

  namespace(instance: string): Namespace {
    return {
      get: (key) => this.get(instance, key),
      put: (key, value) => this.put(instance, key, value),
      delete: (key) => this.delete(instance, key),
    }
  }

  /** The pending writes by slot, for the block to take. */
  pending(): Iterable<[string, PendingWrite]> {
    return this.#writes.entries()
  }

  /** One write per key (the last), sorted by instance then key (NUL sorts first) so the write set is canonical. */
  writes(): StateWrite[] {
    return sortInPlace([...this.#writes.keys()], (a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((s) => this.#writes.get(s)!.write)
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
