import { ZERO_HASH, genesisHash, validatorsHash, type Block, type Genesis } from '@vigil/common'

/** Block 0: no transactions; its batch digest is the genesis file's hash, so the chain is bound to its genesis. */
export function genesisBlock(g: Genesis, emptyStateRoot: Uint8Array): Block {
  return {
    header: {
      chainId: g.chainId,
      height: 0,
      prevHash: ZERO_HASH,
      time: g.genesisTime,
      txRoot: ZERO_HASH,
      resultsRoot: ZERO_HASH,
      stateRoot: emptyStateRoot,
      batchDigest: genesisHash(g),
      validatorsHash: validatorsHash(g.validators),
    },
    txs: [],
    results: [],
  }
}
