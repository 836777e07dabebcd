import type { Tx, TxVersion } from '@vigil/common'
/**
 * What execution needs from the node: committed world state to read, and the block being
 * executed. The node adapts the LevelDB store to StateReader; tests use a Map.
 */
export interface StateReader {
  /** Canonical CBOR of a JSON value, or null if absent. */
  get(instance: string, key: string): Promise<Uint8Array | null>
  /** Several keys in one storage round trip (optional: execution prefetches a block's reads with it). */
  getMany?(keys: ReadonlyArray<{ instance: string; key: string }>): Promise<Array<Uint8Array | null>>
  /** Entries sorted by key; used by queries only (transactions read single keys). */
  scan(instance: string, opts: ScanOptions): Promise<Array<{ key: string; value: Uint8Array }>>
}

export interface ScanOptions {
  prefix?: string
  gte?: string
  lt?: string
  limit: number
}

export interface BlockContext {
  height: number
  /** Block time in ms, chosen by consensus: the only clock execution may use. */
  time: number
  chainId: string
  /** The transaction format the chain's ledger protocol takes: any other fails as UNAUTHORIZED. */
  txVersion: TxVersion
  /** Genesis admins: the keys allowed to deploy instances. */
  admins: readonly Uint8Array[]
  /**
   * True for a transaction whose signature this peer already checked for this chain (mempool
   * admission or PRE-PREPARE validation), so it is not verified a second time. Skipping is
   * deterministic: no honest replica prepares a batch holding a bad signature, so a certified
   * batch never holds one; re-execution of synced blocks passes nothing and checks them all.
   */
  verified?: (tx: Tx) => boolean
}
