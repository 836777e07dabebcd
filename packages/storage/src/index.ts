/**
 * @vigil/storage: the ledger's LevelDB store (blocks, certificates, Merkle world state with
 * proofs, tx index, per-key history, consensus log). The proof verifier alone is available
 * without LevelDB as "@vigil/storage/proof".
 */
export type { CommitProfile } from './profile.js'
export { LedgerStore, MAX_GROUP_BLOCKS, MAX_GROUP_BYTES, MAX_HISTORY_LIMIT, MAX_SCAN_LIMIT, type BlockEntry, type BlockWrites, type OpenOptions, type TreeLoadReport } from './store.js'
export { CorruptionError } from './errors.js'
export type { VerifyOptions, VerifyReport } from './verify.js'
export type { Version } from './records.js'
export * from './proof.js'
