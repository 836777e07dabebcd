import {
  ZERO_HASH, batchDigest, headerHash, resultsRootOf, sha256, txRootOf, utf8, type Block, type BlockHeader, type Tx, type TxResult,
} from '@vigil/common'
import { LedgerStore, emptyStateRoot } from '../src/index.js'

/** Benchmark chains: a store with a genesis block, and blocks built on its head as the node would. */
const VALIDATORS_HASH = sha256(utf8('bench validators'))

export async function openBenchStore(dir: string, chainId: string): Promise<LedgerStore> {
  const store = await LedgerStore.open(dir)
  await store.initGenesis({
    header: { chainId, height: 0, prevHash: ZERO_HASH, time: 1, txRoot: txRootOf([]), resultsRoot: resultsRootOf([]), stateRoot: emptyStateRoot(), batchDigest: ZERO_HASH, validatorsHash: VALIDATORS_HASH },
    txs: [],
    results: [],
  })
  return store
}

/**
 * The next block on the store's head, or on `parent` (a block whose commit is still being
 * written); its state root comes from previewStateRoot, as in the node.
 */
export async function nextBlock(store: LedgerStore, chainId: string, txs: Tx[], results: TxResult[], roots?: { txRoot: Uint8Array; resultsRoot: Uint8Array }, parent?: BlockHeader): Promise<Block> {
  const tip = parent === undefined ? store.head()! : { height: parent.height, hash: headerHash(parent), time: parent.time }
  const time = tip.time + 1
  const txRoot = roots?.txRoot ?? txRootOf(txs)
  return {
    header: {
      chainId, height: tip.height + 1, prevHash: tip.hash, time, txRoot, resultsRoot: roots?.resultsRoot ?? resultsRootOf(results),
      stateRoot: await store.previewStateRoot(results), batchDigest: batchDigest(time, tip.hash, txRoot), validatorsHash: VALIDATORS_HASH,
    },
    txs,
    results,
  }
}
