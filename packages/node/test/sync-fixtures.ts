import {
  batchDigest, checkpointSignBytes, commitSignBytes, decodeBlockTxs, decodeCertificate, decodeTx, encodeCertificate, headerHash, txRootOf, validatorsHash,
  type CommitCertificate, type Genesis, type Signer, type Tx,
} from '@vigil/common'
import type { CheckpointCertificate } from '@vigil/consensus'
import { freshStore } from '../src/audit/index.js'
import { BlockExecutor } from '../src/ledger/executor.js'
import type { RawBlock } from '../src/sync/protocol.js'

/** Shared by the sync*.test.ts files: certified chains on real stores, served whole or forged. */

const domainOf = (g: Genesis) => ({ chainId: g.chainId, validatorsHash: validatorsHash(g.validators) })

/**
 * Commits one block per entry of `blocks` on a fresh store in `dir`, each certified by the
 * validators `by` (their signers in `validators`), and returns them as a sync responder serves them.
 */
export async function certifiedChain(dir: string, genesis: Genesis, validators: readonly Signer[], blocks: Tx[][], by = [0, 1, 3]): Promise<RawBlock[]> {
  const source = await freshStore(dir, genesis)
  const executor = new BlockExecutor(source, genesis)
  const served: RawBlock[] = []
  try {
    for (const txs of blocks) {
      const head = source.head()!
      const seq = head.height + 1
      const time = head.time + 1000
      const digest = batchDigest(time, head.hash, txRootOf(txs))
      const cert: CommitCertificate = { view: 0, seq, digest, sigs: by.map((r) => ({ replica: r, sig: validators[r]!.sign(commitSignBytes(domainOf(genesis), 0, seq, digest)) })) }
      await executor.commit({ seq, time, parent: head.hash, digest, cert }, txs)
      served.push({ block: (await source.getBlockBytes(seq))!, cert: encodeCertificate(cert) })
    }
  } finally {
    await source.close()
  }
  return served
}

/** A stable checkpoint certificate, signed by the validators `by`, naming the hash of the served block. */
export function checkpointOf(genesis: Genesis, validators: readonly Signer[], raw: RawBlock, by = [0, 1, 3]): CheckpointCertificate {
  const { header } = decodeBlockTxs(raw.block)
  const blockHash = headerHash(header)
  return { seq: header.height, blockHash, sigs: by.map((r) => ({ replica: r, sig: validators[r]!.sign(checkpointSignBytes(domainOf(genesis), header.height, blockHash)) })) }
}

/**
 * Block `at` (1-based) of `served` as a careful liar forges it: one byte of transaction
 * `index`'s signature flipped (its id, which leaves the signature out, and so the certified
 * batch are unchanged), then re-executed on the blocks before it, so that its results
 * (UNAUTHORIZED for that transaction), state root and header agree with the altered bytes.
 * It keeps the genuine certificate.
 */
export async function withBadSignature(dir: string, genesis: Genesis, served: readonly RawBlock[], at: number, index: number): Promise<RawBlock> {
  const store = await freshStore(dir, genesis)
  try {
    const executor = new BlockExecutor(store, genesis)
    const batchOf = (raw: RawBlock) => {
      const { header: h, txs } = decodeBlockTxs(raw.block)
      return { batch: { seq: h.height, time: h.time, parent: h.prevHash, digest: h.batchDigest, cert: decodeCertificate(raw.cert!) }, txs }
    }
    for (const raw of served.slice(0, at - 1)) {
      const { batch, txs } = batchOf(raw)
      await executor.commit(batch, txs)
    }
    const { batch, txs } = batchOf(served[at - 1]!)
    const forged = [...txs]
    forged[index] = flipSignatureByte(txs[index]!)
    const sealed = await executor.build(batch, forged)
    return { block: sealed.bytes, cert: served[at - 1]!.cert }
  } finally {
    await store.close()
  }
}

/** The transaction with one byte of its signature flipped, in its encoding. */
export function flipSignatureByte(tx: Tx): Tx {
  const bytes = tx.bytes.slice()
  const at = indexOf(bytes, tx.sig)
  if (at < 0) throw new Error('signature not found in the transaction encoding')
  bytes[at + 7]! ^= 0x01
  return decodeTx(bytes)
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer
    return i
  }
  return -1
}
