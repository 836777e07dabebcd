export { ApiClient, ApiRequestError } from './client.js'
export { makeTx, sendTx, chainIdOf } from './tx.js'
export { initTestnet, readManifest, freePort, type TestnetManifest } from './testnet-layout.js'
