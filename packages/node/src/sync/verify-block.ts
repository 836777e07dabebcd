import {
  ValidationError, ZERO_HASH, batchDigest, commitSignBytes, decodeBlockToRebuild, decodeBlockTxs, decodeCertificate, equalBytes, headerHash, quorumSize, toHex, txRootOf, validatorsHash,
  txVersionOf, verifyCommitCertificate, verifySignature, verifyTx, type TxVersion, type Block, type CommitCertificate, type Genesis, type ReplicaSignature, type SealedBlock, type SignDomain, type Tx, type TxResult,
} from '@vigil/common'
import { verifyCheckpointCertificate, type CheckpointCertificate } from '@vigil/consensus'
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
const everyOne = (): boolean => true

/** What a fetched block says of the one before it (see BlockVerifier.linkOf). */
export interface Link {
  height: number
  /** The header hash this block names as its parent. */
  prevHash: Uint8Array
  /** This block's own header hash. */
  hash: Uint8Array
  /** Whether its certificate binds prevHash: a normal batch's digest covers its parent, a null batch's does not. */
  certified: boolean
}
/** Transactions per signature answer: four pool batches, two per worker on two cores. */
const SIG_GROUP = 4 * SIG_BATCH

/**
 * Checks a block fetched from a peer against everything this peer knows, and re-executes it:
 * link to our head, chain and validator set, the batch digest its certificate signs, a quorum
 * distinct validator signatures, and re-execution giving exactly the same header (so the same
 * transactions and state root) and body bytes. Nothing from the peer is trusted until all of
 * that holds. Returns the block as this peer rebuilt it, with its encoding, ready to commit.
 *
 * A transaction whose signature does not verify, or of another format than the chain's, refuses
 * the block: an honest quorum never certifies one, so re-executing it to a failed result would
 * record bytes nobody signed (under protocol 1, whose ids left signatures out, in place of signed ones).
 *
 * Signatures, the transactions' and the certificate's, are checked on the signature pool:
 * prepare() starts them as soon as a block arrives, so they run on the other cores while
 * earlier blocks execute here.
 */
export class BlockVerifier {
  readonly #keys: Uint8Array[]
  readonly #quorum: number
  readonly #domain: SignDomain
  readonly #txVersion: TxVersion

  constructor(
    private readonly genesis: Genesis,
    private readonly store: LedgerStore,
    private readonly executor: BlockExecutor,
    private readonly pool: SigPool = sharedSigPool(),
  ) {
    this.#keys = genesis.validators.map((v) => v.publicKey)
    this.#quorum = quorumSize(genesis.validators.length)
    this.#domain = { chainId: genesis.chainId, validatorsHash: validatorsHash(genesis.validators) }
    this.#txVersion = txVersionOf(genesis.protocol)
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
      txs.length === 0 ? nothing : verifiedTxs(this.pool, txs, this.genesis.chainId, this.#txVersion),
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
    const batch = this.#batchOf(block, cert)
    // The transactions are the certified batch only if they give its txRoot (the batch digest covers it).
    if (!equalBytes(txRootOf(block.txs), h.txRoot)) throw new ValidationError(`${at}: transactions do not match txRoot`)
    const checked = await signed
    verifyCommitCertificate(batch.cert, this.#domain, this.#keys, this.#quorum, checked.commit)
    block.txs.forEach((tx, i) => {
      if (checked.tx(tx)) return
      try {
        verifyTx(tx, this.genesis.chainId, this.#txVersion)
      } catch (err) {
        throw new ValidationError(`${at}: transaction ${toHex(tx.id)} (index ${i}): ${(err as Error).message}`)
      }
    })
    const rebuilt = await this.executor.build(batch, block.txs, everyOne)
    // Equal bytes hold the same header, transactions and results; anything else is refused, saying where.
    if (!equalBytes(rebuilt.bytes, raw.block)) throw disagreement(at, decodeBlockToRebuild(raw.block), rebuilt.block)
    return { sealed: rebuilt, cert: batch.cert }
  }

  /**
   * What a fetched block vouches for the one before it, checked without executing it (the block
   * before must be accepted first): its certificate is a quorum's, for this block's batch, and
   * its prevHash is inside what that certificate signs unless it is a null batch. Block sync
   * stores a block once the next one links to it this way (or something else covers it, see BlockSync).
   * Throws a ValidationError if the block or its certificate is not sound.
   */
  async linkOf({ decoded, signed }: PreparedBlock): Promise<Link> {
    if (decoded instanceof Error) throw decoded
    const batch = this.#batchOf(decoded.block, decoded.cert)
    verifyCommitCertificate(batch.cert, this.#domain, this.#keys, this.#quorum, (await signed).commit)
    const h = decoded.block.header
    return { height: h.height, prevHash: h.prevHash, hash: headerHash(h), certified: batch.parent !== null }
  }

  /** Throws unless a quorum of validators signed the height claimed with `cert` (what a peer's status offers as evidence). */
  checkClaim(height: number, cert: CommitCertificate | null): void {
    if (cert === null) throw new ValidationError(`height ${height}: no certificate`)
    if (cert.seq !== height) throw new ValidationError(`height ${height}: the certificate is for seq ${cert.seq}`)
    verifyCommitCertificate(cert, this.#domain, this.#keys, this.#quorum)
  }

  /** Throws unless a quorum of validators signed this stable checkpoint. */
  checkCheckpoint(c: CheckpointCertificate): void {
    verifyCheckpointCertificate(c, this.#domain, this.#keys.length, (i, bytes, sig) => verifySignature(this.#keys[i]!, bytes, sig))
  }

  /** The batch the certificate signed: a normal batch on its parent, or a null batch (view-change hole). */
  #batchOf(block: Pick<Block, 'header' | 'txs'>, cert: CommitCertificate | null): OrderedBatch & { cert: CommitCertificate } {
    const h = block.header
    if (cert === null) throw new ValidationError(`block ${h.height}: no commit certificate`)
    if (cert.seq !== h.height || !equalBytes(cert.digest, h.batchDigest)) throw new ValidationError(`block ${h.height}: certificate is for another batch`)
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
  // Name the first transaction whose outcome differs.
  const i = rebuilt.results.findIndex((x, k) => x.code !== block.results[k]?.code || x.error !== block.results[k]?.error)
  if (i >= 0) return new ValidationError(`${at}: transaction ${toHex(block.txs[i]!.id)} (index ${i}) re-executes to ${outcome(rebuilt.results[i]!)}, the block records ${outcome(block.results[i]!)}`)
  const what = equalBytes(r.stateRoot, h.stateRoot) ? 'results or header fields' : `state root (ours ${toHex(r.stateRoot)}, block's ${toHex(h.stateRoot)})`
  return new ValidationError(`${at}: re-execution disagrees on ${what}`)
}

const outcome = (r: TxResult): string => (r.error === null ? `code ${r.code}` : `code ${r.code} (${r.error})`)
