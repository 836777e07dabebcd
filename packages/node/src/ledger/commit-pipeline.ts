import type { CommitCertificate, SealedBlock } from '@vigil/common'
import type { LedgerStore } from '@vigil/storage'

/**
 * Commits a run of blocks so that the next one is verified and executed while earlier ones are
 * written: each block is accepted by the store (checked and staged, see acceptBlocks; the next
 * block builds on it) and up to `depth` writes run behind. A failed write is this peer's own
 * problem, not the block's: it is kept, `failed` turns true, and drain() throws it.
 */
export class CommitPipeline {
  readonly #writing: Array<Promise<void>> = []
  #failure: { err: unknown } | null = null

  constructor(
    private readonly store: LedgerStore,
    private readonly depth = 2,
    /** Called once, at the first failed write (a peer that cannot write must stop at once, not at its next block). */
    private readonly onFailure?: (err: unknown) => void,
  ) {}

  get failed(): boolean {
    return this.#failure !== null
  }

  /** Accepts the block (throws if the store refuses it); `onDurable` runs once its batch is written. */
  async push({ block, bytes }: SealedBlock, cert: CommitCertificate | null, onDurable: () => void): Promise<void> {
    const { durable } = await this.store.acceptBlocks([{ block, cert, bytes }])
    this.#writing.push(
      durable.then(onDurable, (err: unknown) => {
        if (this.#failure !== null) return
        this.#failure = { err }
        this.onFailure?.(err)
      }),
    )
    if (this.#writing.length > this.depth) await this.#writing.shift()
  }

  /** Waits until every accepted block is written; throws the first write failure. */
  async drain(): Promise<void> {
    await Promise.all(this.#writing.splice(0))
    if (this.#failure !== null) throw this.#failure.err
  }
}
