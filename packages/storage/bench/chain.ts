import {
  ZERO_HASH, batchDigest, resultsRootOf, sha256, txRootOf, utf8, type Block, type Tx, type TxResult,
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

/** The next block on the store's head; its state root comes from previewStateRoot, as in the node. */
export async function nextBlock(store: LedgerStore, chainId: string, txs: Tx[], results: TxResult[], roots?: { txRoot: Uint8Array; resultsRoot: Uint8Array }): Promise<Block> {
  const head = store.head()!
  const time = head.time + 1
  const txRoot = roots?.txRoot ?? txRootOf(txs)
  return {
    header: {
      chainId, height: head.height + 1, prevHash: head.hash, time, txRoot, resultsRoot: roots?.resultsRoot ?? resultsRootOf(results),
      stateRoot: await store.previewStateRoot(results), batchDigest: batchDigest(time, head.hash, txRoot), validatorsHash: VALIDATORS_HASH,
    },
    txs,
    results,
  }
}
