export { ApiClient, ApiRequestError } from './client.js'
export { makeTx, sendTx, chainIdOf } from './tx.js'
export { fetchStatus, type PeerStatus } from './status.js'
export { initTestnet, readManifest, type TestnetManifest } from './testnet-layout.js'
