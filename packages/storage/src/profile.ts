/**
 * Where block commits spend their time, summed since the store was opened: a few clock reads per
 * block, cheap enough to keep on. The storage benchmark prints it per block.
 */
export interface CommitProfile {
  /** Blocks committed. */
  blocks: number
  /** Encoding the block and its checks: link, transactions and results roots, write sets, certificate. */
  checkMs: number
  /** State tree: key and value hashes, the Merkle update and its hashing (previews included). */
  treeMs: number
  /** Building the LevelDB batch: record keys and values. */
  batchMs: number
  /** LevelDB write of the batch, fsync included. */
  writeMs: number
}

export type Phase = Exclude<keyof CommitProfile, 'blocks'>

export class Profiler {
  readonly #sums: CommitProfile = { blocks: 0, checkMs: 0, treeMs: 0, batchMs: 0, writeMs: 0 }

  /** Adds the time since `since` to `phase`; returns now, the start of the next phase. */
  lap(phase: Phase, since: number): number {
    const now = performance.now()
    this.#sums[phase] += now - since
    return now
  }

  countBlocks(n: number): void {
    this.#sums.blocks += n
  }

  snapshot(): CommitProfile {
    return { ...this.#sums }
  }
}
