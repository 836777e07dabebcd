/** Signature checks on worker threads. */
export { SigPool, SIG_BATCH, sharedSigPool } from './sig-pool.js'
export { type SigCheck } from './sig-batch.js'
export { txCheck, verifiedSet, verifiedTxs } from './tx-sigs.js'
