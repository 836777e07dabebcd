/**
 * @vigil/consensus: PBFT (Castro & Liskov) as a pure, deterministic state machine.
 *
 * ```ts
 * const r = new Replica({ id, n, params, domain, crypto }, restoredRecords)
 * r.step({ type: 'stateTransferred', seq: head, blockHash: headHash }) // boot: the last executed block
 * const ready = r.step({ type: 'tick', now })
 * // persist ready.persist (synced), then send ready.send, then execute ready.deliver and step 'executed'
 * ```
 * The deterministic network simulator lives in ./sim (`pnpm --filter @vigil/consensus sim`).
 */
export * from './types.js'
export * from './messages.js'
export { encodeMessage, decodeMessage, MAX_BATCH_REQUESTS, MAX_VALIDATORS } from './codec.js'
export { verifyCheckpointCertificate } from './certs.js'
export { KEYS as PERSIST_KEYS } from './persist.js'
export { Replica } from './replica.js'
