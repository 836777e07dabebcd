/**
 * @vigil/node: the validating-peer daemon. `startNode(loadConfig(home), logger)` runs one peer:
 * LevelDB store, libp2p links to the other validators, the PBFT core behind its driver, block
 * sync, contract execution and the HTTP API. The p2p module is imported first for its
 * Promise.withResolvers polyfill (libp2p needs it on Node 20).
 *
 * Light entry points for tools that must start fast (the vigil CLI) without loading all of this:
 * `@vigil/node/identity` (peer ids), `@vigil/node/process-memory` (malloc and heap settings) and
 * `@vigil/node/proof` (proof bundles). They are the same modules this index re-exports.
 */
export * from './p2p/index.js'
export { startNode, VigilNode, PBFT_PROTOCOL, MEMPOOL_PROTOCOL, type NodeOptions } from './daemon.js'
export type { Misbehaviour } from './misbehaviour.js'
export { encodeBlocks, SYNC_PROTOCOL, type SyncRequest } from './sync/protocol.js'
export { loadConfig, parseConfigFile, readGenesisFile, ENV_OVERRIDES, type NodeConfig, type NodeConfigFile } from './config.js'
export { createLogger, type Logger } from './log.js'
export { applyMallocSettings, tuneV8Heap, withMallocEnv, MALLOC_ENV, HEAP_GROWING_PERCENT } from './process-memory.js'
export { BlockExecutor, DivergenceError, stateReaderOf, type OrderedBatch } from './ledger/executor.js'
export { genesisBlock } from './ledger/genesis-block.js'
export { BlockVerifier } from './sync/verify-block.js'
export * from './execution/index.js'
export { headerJson, blockJson, txJson, resultJson, certificateJson, valueJson } from './api/json.js'
export * from './audit/index.js'
