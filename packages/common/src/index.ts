/**
 * @vigil/common: primitives every Vigil package shares. Pure functions and types only
 * (node:crypto for hashing and ed25519, cborg for canonical CBOR); no I/O beyond key files.
 */
export * from './errors.js'
export * from './bytes.js'
export * from './sort.js'
export * from './hash.js'
export * from './cbor.js'
export * from './check.js'
export * from './keys.js'
export * from './tx.js'
export * from './block.js'
export * from './block-layout.js'
export * from './genesis.js'
export * from './consensus-bounds.js'
export * from './certificate.js'
