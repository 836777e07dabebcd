import {
  ValidationError, decodeTx, equalBytes, headerHash, resultsRootOf, toHex, txRootOf, validatorsHash,
  type Block, type CommitCertificate, type Genesis, type Tx, type TxResult,
} from '@vigil/common'
import type { LedgerStore } from '@vigil/storage'
import { executeBlock, type StateReader } from '../execution/index.js'

/** A batch ordered by consensus, as the executor needs it. */
export interface OrderedBatch {
  seq: number
  view: number
  time: number
  /** hash(header seq-1) the batch was proposed on; null for a null batch (a hole filled by a view change). */
  parent: Uint8Array | null
  payloads: Uint8Array[]
  digest: Uint8Array
  cert: CommitCertificate | null
}

/** Thrown when this peer's own chain disagrees with what the quorum certified: it must stop, not fork. */
export class DivergenceError extends ValidationError {
  constructor(message: string) {
    super(message)
    this.name = 'DivergenceError'
  }
}

/** The store as contracts see it: committed world state, values as canonical CBOR. */
export function stateReaderOf(store: LedgerStore): StateReader {
  return {
    get: async (instance, key) => (await store.getState(instance, key))?.value ?? null,
    scan: async (instance, opts) => (await store.scanState(instance, opts)).map((e) => ({ key: e.key, value: e.value })),
  }
}

/**
 * Turns ordered batches into blocks: executes the transactions against committed state,
 * builds the header (state root after execution, parent link) and commits block, state,
 * indexes and certificate in one atomic write. The same code re-executes synced blocks.
 */
export class BlockExecutor {
  readonly #validatorsHash: Uint8Array
  readonly #state: StateReader

  constructor(
    private readonly store: LedgerStore,
    private readonly genesis: Genesis,
  ) {
    this.#validatorsHash = validatorsHash(genesis.validators)
    this.#state = stateReaderOf(store)
  }

  /** Executes a batch and builds its block without writing it. */
  async build(b: OrderedBatch, txs?: Tx[]): Promise<Block> {
    const head = this.store.head()
    if (head === null) throw new ValidationError('store has no genesis block')
    if (b.seq !== head.height + 1) throw new ValidationError(`batch ${b.seq} does not follow head ${head.height}`)
    if (b.parent !== null && !equalBytes(b.parent, head.hash)) {
      throw new DivergenceError(`batch ${b.seq} was certified on parent ${toHex(b.parent)}, but this peer's block ${head.height} is ${toHex(head.hash)}`)
    }
    const list = txs ?? b.payloads.map(decodeTx)
    const time = b.parent === null ? head.time : b.time
    const results: TxResult[] = await executeBlock(list, { height: b.seq, time, chainId: this.genesis.chainId, admins: this.genesis.admins }, this.#state)
    const stateRoot = await this.store.previewStateRoot(results)
    return {
      header: {
        chainId: this.genesis.chainId,
        height: b.seq,
        prevHash: head.hash,
        time,
        txRoot: txRootOf(list),
        resultsRoot: resultsRootOf(results),
        stateRoot,
        view: b.view,
        batchDigest: b.digest,
        proposer: b.view % this.genesis.validators.length,
        validatorsHash: this.#validatorsHash,
      },
      txs: list,
      results,
    }
  }

  /** Executes and commits; returns the block and its header hash (the next batch's parent). */
  async commit(b: OrderedBatch, txs?: Tx[]): Promise<{ block: Block; hash: Uint8Array }> {
    const block = await this.build(b, txs)
    await this.store.commitBlock(block, b.cert)
    return { block, hash: headerHash(block.header) }
  }
}
