import {
  ValidationError, ZERO_HASH, batchDigest, commitSignBytes, decodeBlockToRebuild, decodeBlockTxs, decodeCertificate, equalBytes, headerHash, quorumSize, toHex, validatorsHash,
  verifyCommitCertificate, type Block, type CommitCertificate, type Genesis, type ReplicaSignature, type SealedBlock, type SignDomain, type Tx, type TxResult,
} from '@vigil/common'
import type { LedgerStore } from '@vigil/storage'
import { SIG_BATCH, sharedSigPool, verifiedSet, verifiedTxs, type SigCheck, type SigPool } from '../crypto/index.js'
import type { BlockExecutor, OrderedBatch } from '../ledger/executor.js'
import type { RawBlock } from './protocol.js'

/** A fetched block, decoded, its signatures being checked on the pool. */
export interface PreparedBlock {
  raw: RawBlock
  /** The block's header and transactions (its results are rebuilt, see decodeBlockTxs) and certificate, or why they do not decode (reported by verify, in order). */
  decoded: { block: Pick<Block, 'header' | 'txs'>; cert: CommitCertificate | null } | Error
  signed: Promise<PoolAnswer>
}

/** Which transactions and which certificate signatures the pool found valid; verify checks any other itself. */
interface PoolAnswer {
  tx: (tx: Tx) => boolean
  commit: (s: ReplicaSignature) => boolean
}

const nothing = (): boolean => false
/** Transactions per signature answer: four pool batches, two per worker on two cores. */
const SIG_GROUP = 4 * SIG_BATCH

/**
 * Checks a block fetched from a peer against everything this peer knows, and re-executes it:
 * link to our head, chain and validator set, the batch digest its certificate signs, a quorum
 * distinct validator signatures, and re-execution giving exactly the same header (so the same
 * transactions and state root) and body bytes. Nothing from the peer is trusted until all of
 * that holds. Returns the block as this peer rebuilt it, with its encoding, ready to commit.
 *
 * Signatures, the transactions' and the certificate's, are checked on the signature pool:
 * prepare() starts them as soon as a block arrives, so they run on the other cores while
 * earlier blocks execute here.
 */
export class BlockVerifier {
  readonly #keys: Uint8Array[]
  readonly #quorum: number
  readonly #domain: SignDomain

  constructor(
    private readonly genesis: Genesis,
    private readonly store: LedgerStore,
    private readonly executor: BlockExecutor,
    private readonly pool: SigPool = sharedSigPool(),
  ) {
    this.#keys = genesis.validators.map((v) => v.publicKey)
    this.#quorum = quorumSize(genesis.validators.length)
    this.#domain = { chainId: genesis.chainId, validatorsHash: validatorsHash(genesis.validators) }
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
    let txs: Tx[] = []
    let commits: ReplicaSignature[] = []
    let checks: SigCheck[] = []
    let waiting: Array<Omit<PreparedBlock, 'signed'>> = []
    const flush = (): void => {
      const signed = this.#answer(txs, commits, checks)
      for (const w of waiting) out.push({ ...w, signed })
      txs = []
      commits = []
      checks = []
      waiting = []
    }
    for (const raw of raws) {
      let decoded: PreparedBlock['decoded']
      try {
        decoded = { block: decodeBlockTxs(raw.block), cert: raw.cert === null ? null : decodeCertificate(raw.cert) }
        txs.push(...decoded.block.txs)
        if (decoded.cert !== null) this.#commitChecks(decoded.cert, commits, checks)
      } catch (err) {
        decoded = err as Error
      }
      waiting.push({ raw, decoded })
      if (txs.length >= SIG_GROUP) flush()
    }
    if (waiting.length > 0) flush()
    return out
  }

  /** Adds the certificate's signatures by validators, with the checks of what each signs (verifyCommitCertificate's message). */
  #commitChecks(cert: CommitCertificate, sigs: ReplicaSignature[], checks: SigCheck[]): void {
    const message = commitSignBytes(this.#domain, cert.view, cert.seq, cert.digest)
    for (const s of cert.sigs) {
      const publicKey = this.#keys[s.replica]
      if (publicKey === undefined) continue
      sigs.push(s)
      checks.push({ publicKey, message, sig: s.sig })
    }
  }

  async #answer(txs: readonly Tx[], commits: readonly ReplicaSignature[], checks: readonly SigCheck[]): Promise<PoolAnswer> {
    const [tx, commit] = await Promise.all([
      txs.length === 0 ? nothing : verifiedTxs(this.pool, txs, this.genesis.chainId),
      commits.length === 0 ? nothing : verifiedSet(this.pool, commits, checks),
    ])
    return { tx, commit }
  }

  async verify(input: RawBlock | PreparedBlock): Promise<{ sealed: SealedBlock; cert: CommitCertificate }> {
    const { raw, decoded, signed } = 'signed' in input ? input : this.prepare(input)
    if (decoded instanceof Error) throw decoded
    const { block, cert } = decoded
    // On the last accepted block: block sync verifies the next block while the previous one is written.
    const head = this.store.tip()!
    const h = block.header
    const at = `block ${h.height}`
    if (h.height !== head.height + 1) throw new ValidationError(`${at}: expected height ${head.height + 1}`)
    if (h.chainId !== this.genesis.chainId) throw new ValidationError(`${at}: chain "${h.chainId}" is not "${this.genesis.chainId}"`)
    if (!equalBytes(h.validatorsHash, this.#domain.validatorsHash)) throw new ValidationError(`${at}: validator set differs from genesis`)
    if (!equalBytes(h.prevHash, head.hash)) throw new ValidationError(`${at}: prevHash ${toHex(h.prevHash)} does not link to our block ${head.height}`)
    if (cert === null) throw new ValidationError(`${at}: no commit certificate`)
    if (cert.seq !== h.height || !equalBytes(cert.digest, h.batchDigest)) throw new ValidationError(`${at}: certificate is for another batch`)
    const batch = this.#batchOf(block, cert)
    const checked = await signed
    verifyCommitCertificate(cert, this.#domain, this.#keys, this.#quorum, checked.commit)
    const rebuilt = await this.executor.build(batch, block.txs, checked.tx)
    // Equal bytes hold the same header, transactions and results; anything else is refused, saying where.
    if (!equalBytes(rebuilt.bytes, raw.block)) throw disagreement(at, decodeBlockToRebuild(raw.block), rebuilt.block)
    return { sealed: rebuilt, cert }
  }

  /** The batch the certificate signed: a normal batch on our head, or a null batch (view-change hole). */
  #batchOf(block: Pick<Block, 'header' | 'txs'>, cert: CommitCertificate): OrderedBatch {
    const h = block.header
    const base = { seq: h.height, digest: h.batchDigest, cert }
    if (equalBytes(batchDigest(h.time, h.prevHash, h.txRoot, this.genesis.protocol), h.batchDigest)) return { ...base, time: h.time, parent: h.prevHash }
    if (block.txs.length === 0 && equalBytes(batchDigest(0, null, ZERO_HASH, this.genesis.protocol), h.batchDigest)) return { ...base, time: 0, parent: null }
    throw new ValidationError(`block ${h.height}: batch digest does not match its time, parent and transactions`)
  }
}

/** Why a peer's block differs from its re-execution, naming the first difference. */
function disagreement(at: string, block: Block, rebuilt: Block): ValidationError {
  const h = block.header
  const r = rebuilt.header
  // Same header but other body bytes (altered results, re-signed transactions): the peer lied.
  if (equalBytes(headerHash(r), headerHash(h))) return new ValidationError(`${at}: block body differs from its re-execution`)
  // The transactions are the certified batch only if they give its txRoot (the batch digest covers it).
  if (!equalBytes(r.txRoot, h.txRoot)) return new ValidationError(`${at}: transactions do not match txRoot`)
  // Name the first transaction whose outcome differs (e.g. an altered signature now fails).
  const i = rebuilt.results.findIndex((x, k) => x.code !== block.results[k]?.code || x.error !== block.results[k]?.error)
  if (i >= 0) return new ValidationError(`${at}: transaction ${toHex(block.txs[i]!.id)} (index ${i}) re-executes to ${outcome(rebuilt.results[i]!)}, the block records ${outcome(block.results[i]!)}`)
  const what = equalBytes(r.stateRoot, h.stateRoot) ? 'results or header fields' : `state root (ours ${toHex(r.stateRoot)}, block's ${toHex(h.stateRoot)})`
  return new ValidationError(`${at}: re-execution disagrees on ${what}`)
}

const outcome = (r: TxResult): string => (r.error === null ? `code ${r.code}` : `code ${r.code} (${r.error})`)
