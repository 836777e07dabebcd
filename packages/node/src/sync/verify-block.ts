import {
  ValidationError, ZERO_HASH, batchDigest, decodeBlock, decodeCertificate, encodeBlock, equalBytes, headerHash, quorumSize, toHex, txRootOf, validatorsHash,
  verifyCommitCertificate, type Block, type CommitCertificate, type Genesis, type Tx, type TxResult,
} from '@vigil/common'
import type { LedgerStore } from '@vigil/storage'
import { SIG_BATCH, sharedSigPool, verifiedTxs, type SigPool } from '../crypto/index.js'
import type { BlockExecutor, OrderedBatch } from '../ledger/executor.js'
import type { RawBlock } from './protocol.js'

/** A fetched block, decoded, its transaction signatures being checked on the pool. */
export interface PreparedBlock {
  raw: RawBlock
  /** The decoded block, or why it does not decode (reported by verify, in order). */
  decoded: Block | Error
  /** Which transactions the pool found correctly signed; the executor checks any other. */
  signed: Promise<(tx: Tx) => boolean>
}

const unverified = Promise.resolve(() => false)
/** Transactions per signature answer: four pool batches, two per worker on two cores. */
const SIG_GROUP = 4 * SIG_BATCH

/**
 * Checks a block fetched from a peer against everything this peer knows, and re-executes it:
 * link to our head, chain and validator set, transactions root, the batch digest its
 * certificate signs, 2f+1 distinct validator signatures, and re-execution giving exactly the
 * same header (so the same state root). Nothing from the peer is trusted until all of that holds.
 * Returns the block as this peer rebuilt it, ready to commit.
 *
 * Transaction signatures are checked on the signature pool: prepare() starts them as soon as a
 * block arrives, so they run on the other cores while earlier blocks execute here.
 */
export class BlockVerifier {
  readonly #keys: Uint8Array[]
  readonly #quorum: number
  readonly #validatorsHash: Uint8Array

  constructor(
    private readonly genesis: Genesis,
    private readonly store: LedgerStore,
    private readonly executor: BlockExecutor,
    private readonly pool: SigPool = sharedSigPool(),
  ) {
    this.#keys = genesis.validators.map((v) => v.publicKey)
    this.#quorum = quorumSize(genesis.validators.length)
    this.#validatorsHash = validatorsHash(genesis.validators)
  }

  /** Decodes a block and starts its signature checks; never throws. */
  prepare(raw: RawBlock): PreparedBlock {
    return this.prepareRange([raw])[0]!
  }

  /**
   * prepare() for consecutive blocks. Small blocks are grouped until a group has SIG_GROUP
   * transactions, so pool batches stay full, and each group has its own answer: the first
   * blocks of a range execute while the pool still checks the later ones.
   */
  prepareRange(raws: readonly RawBlock[]): PreparedBlock[] {
    const out: PreparedBlock[] = []
    let group: Tx[] = []
    let waiting: Array<{ raw: RawBlock; decoded: Block | Error }> = []
    const flush = (): void => {
      const signed = group.length === 0 ? unverified : verifiedTxs(this.pool, group, this.genesis.chainId)
      for (const w of waiting) out.push({ ...w, signed })
      group = []
      waiting = []
    }
    for (const raw of raws) {
      let decoded: Block | Error
      try {
        decoded = decodeBlock(raw.block)
        group.push(...decoded.txs)
      } catch (err) {
        decoded = err as Error
      }
      waiting.push({ raw, decoded })
      if (group.length >= SIG_GROUP) flush()
    }
    if (waiting.length > 0) flush()
    return out
  }

  async verify(input: RawBlock | PreparedBlock): Promise<{ block: Block; cert: CommitCertificate }> {
    const { raw, decoded, signed } = 'signed' in input ? input : this.prepare(input)
    if (decoded instanceof Error) throw decoded
    const block = decoded
    // On the last accepted block: block sync verifies the next block while the previous one is written.
    const head = this.store.tip()!
    const h = block.header
    const at = `block ${h.height}`
    if (h.height !== head.height + 1) throw new ValidationError(`${at}: expected height ${head.height + 1}`)
    if (h.chainId !== this.genesis.chainId) throw new ValidationError(`${at}: chain "${h.chainId}" is not "${this.genesis.chainId}"`)
    if (!equalBytes(h.validatorsHash, this.#validatorsHash)) throw new ValidationError(`${at}: validator set differs from genesis`)
    if (!equalBytes(h.prevHash, head.hash)) throw new ValidationError(`${at}: prevHash ${toHex(h.prevHash)} does not link to our block ${head.height}`)
    if (!equalBytes(h.txRoot, txRootOf(block.txs))) throw new ValidationError(`${at}: transactions do not match txRoot`)
    if (raw.cert === null) throw new ValidationError(`${at}: no commit certificate`)
    const cert = decodeCertificate(raw.cert)
    if (cert.seq !== h.height || !equalBytes(cert.digest, h.batchDigest)) throw new ValidationError(`${at}: certificate is for another batch`)
    const batch = this.#batchOf(block, cert)
    verifyCommitCertificate(cert, { chainId: this.genesis.chainId, validatorsHash: this.#validatorsHash }, this.#keys, this.#quorum)
    const rebuilt = await this.executor.build(batch, block.txs, await signed)
    if (!equalBytes(headerHash(rebuilt.header), headerHash(h))) {
      // Name the first transaction whose outcome differs (e.g. an altered signature now fails).
      const i = rebuilt.results.findIndex((r, k) => r.code !== block.results[k]?.code || r.error !== block.results[k]?.error)
      if (i >= 0) throw new ValidationError(`${at}: transaction ${toHex(block.txs[i]!.id)} (index ${i}) re-executes to ${outcome(rebuilt.results[i]!)}, the block records ${outcome(block.results[i]!)}`)
      const what = equalBytes(rebuilt.header.stateRoot, h.stateRoot) ? 'results or header fields' : `state root (ours ${toHex(rebuilt.header.stateRoot)}, block's ${toHex(h.stateRoot)})`
      throw new ValidationError(`${at}: re-execution disagrees on ${what}`)
    }
    // Same header but other body bytes (altered results, re-signed transactions): the peer lied.
    if (!equalBytes(encodeBlock(rebuilt), raw.block)) throw new ValidationError(`${at}: block body differs from its re-execution`)
    return { block: rebuilt, cert }
  }

  /** The batch the certificate signed: a normal batch on our head, or a null batch (view-change hole). */
  #batchOf(block: Block, cert: CommitCertificate): OrderedBatch {
    const h = block.header
    const base = { seq: h.height, digest: h.batchDigest, cert }
    if (equalBytes(batchDigest(h.time, h.prevHash, h.txRoot), h.batchDigest)) return { ...base, time: h.time, parent: h.prevHash }
    if (block.txs.length === 0 && equalBytes(batchDigest(0, null, ZERO_HASH), h.batchDigest)) return { ...base, time: 0, parent: null }
    throw new ValidationError(`block ${h.height}: batch digest does not match its time, parent and transactions`)
  }
}

const outcome = (r: TxResult): string => (r.error === null ? `code ${r.code}` : `code ${r.code} (${r.error})`)
