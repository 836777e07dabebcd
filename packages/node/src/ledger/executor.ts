import {
  txVersionOf, ValidationError, equalBytes, headerHash, sealBlock, toHex, txRootOf, validatorsHash,
  type Block, type CommitCertificate, type Genesis, type SealedBlock, type Tx, type TxResult,
} from '@vigil/common'
import type { LedgerStore } from '@vigil/storage'
import { ResultCode, executeBlock, type BlockContext, type StateReader } from '../execution/index.js'

/** A batch ordered by consensus, as the executor needs it (its transactions are passed beside it, decoded). */
export interface OrderedBatch {
  seq: number
  time: number
  /** hash(header seq-1) the batch was proposed on; null for a null batch (a hole filled by a view change). */
  parent: Uint8Array | null
  digest: Uint8Array
  /** Stored beside the block; it names the view that certified the batch. */
  cert: CommitCertificate | null
}

/** Thrown when this peer's own chain disagrees with what the quorum certified: it must stop, not fork. */
export class DivergenceError extends ValidationError {
  constructor(message: string) {
    super(message)
    this.name = 'DivergenceError'
  }
}

/**
 * The store as contracts see it, values as canonical CBOR: the durable head's state for queries,
 * or with `atTip` the last accepted block's, for executing the block after it while that one is
 * still being written. Scans always read the durable state: only queries scan.
 */
export function stateReaderOf(store: LedgerStore, atTip = false): StateReader {
  const many = atTip ? store.getStateManyAtTip.bind(store) : store.getStateMany.bind(store)
  return {
    get: async (instance, key) => (await many([{ instance, key }]))[0]?.value ?? null,
    getMany: async (keys) => (await many(keys)).map((e) => e?.value ?? null),
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
    this.#state = stateReaderOf(store, true)
  }

  /**
   * Executes a batch and builds its block without writing it, on the last accepted block (the
   * head, or one still being written); `verified` names transactions whose signatures were checked already.
   * Returns the block with its encoding, which the store takes as is.
   */
  async build(b: OrderedBatch, list: Tx[], verified?: (tx: Tx) => boolean): Promise<SealedBlock> {
    const head = this.store.tip()
    if (head === null) throw new ValidationError('store has no genesis block')
    if (b.seq !== head.height + 1) throw new ValidationError(`batch ${b.seq} does not follow head ${head.height}`)
    if (b.parent !== null && !equalBytes(b.parent, head.hash)) {
      throw new DivergenceError(`batch ${b.seq} was certified on parent ${toHex(b.parent)}, but this peer's block ${head.height} is ${toHex(head.hash)}`)
    }
    const time = b.parent === null ? head.time : b.time
    const results = await this.#execute(list, { height: b.seq, time, chainId: this.genesis.chainId, txVersion: txVersionOf(this.genesis.protocol), admins: this.genesis.admins, verified })
    const stateRoot = await this.store.previewStateRoot(results)
    const fields = { chainId: this.genesis.chainId, height: b.seq, prevHash: head.hash, time, txRoot: txRootOf(list), stateRoot, batchDigest: b.digest, validatorsHash: this.#validatorsHash }
    return sealBlock(fields, list, results)
  }

  /**
   * A transaction already on the ledger is not run again: it stays in the block (the batch is
   * certified as ordered) with a deterministic CONFLICT result, the same on every peer since
   * every honest peer has the same ledger.
   */
  #execute(list: Tx[], ctx: BlockContext): Promise<TxResult[]> {
    const duplicates = this.store.txLocationsAtTip(list.map((t) => t.id)).then((prior) =>
      prior.map((p) => (p === null ? null : { code: ResultCode.CONFLICT, error: `duplicate transaction: committed in block ${p.height} at position ${p.index}`, ret: null, writes: [] })),
    )
    return executeBlock(list, ctx, this.#state, duplicates)
  }

  /** Executes and commits; returns the block and its header hash (the next batch's parent). */
  async commit(b: OrderedBatch, txs: Tx[], verified?: (tx: Tx) => boolean): Promise<{ block: Block; hash: Uint8Array }> {
    const { block, bytes } = await this.build(b, txs, verified)
    await this.store.commitBlocks([{ block, cert: b.cert, bytes }])
    return { block, hash: headerHash(block.header) }
  }
}
