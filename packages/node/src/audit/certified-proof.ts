import { batchDigest, equalBytes, headerHash, toHex, validatorsHash, type Genesis } from '@vigil/common'
import { stateProofToJson, type LedgerStore } from '@vigil/storage'
import { certificateJson, headerJson, valueJson } from '../api/json.js'

/**
 * A state proof a third party can check: the Merkle proof the store gives against its head's
 * state root R, the header h it is proven against, and block h+1's certification of header h.
 *
 * Which h: any height whose header carries R and whose successor is a normal batch on it (a
 * null batch, from a view change, does not sign its parent). Blocks without writes keep R, so
 * when the head is the empty block the primary proposes after a non-empty one, h = head - 1
 * is already certified. Otherwise header `head` gets certified by the next block; we wait for
 * it up to `waitMs` (the proof against R stays valid while we wait: headers never change) and
 * give up with null, which the API answers as 503 "retry".
 */
const LOOK_BACK = 16
const POLL_MS = 25

export interface CertifiedProof {
  chainId: string
  validatorsHash: string
  value: unknown
  valueCbor: string | null
  version: { height: number; index: number } | null
  height: number
  stateRoot: string
  proof: ReturnType<typeof stateProofToJson>
  header: ReturnType<typeof headerJson>
  certifiedBy: { height: number; timeMs: number; txRoot: string; certificate: ReturnType<typeof certificateJson> }
}

export async function certifiedProof(store: LedgerStore, genesis: Genesis, instance: string, key: string, waitMs: number): Promise<CertifiedProof | null> {
  const p = await store.getProof(instance, key)
  const deadline = Date.now() + waitMs
  for (;;) {
    const found = await findCertification(store, genesis, p.height, p.stateRoot)
    if (found !== null) {
      const t = p.proof.terminal
      return {
        chainId: genesis.chainId,
        validatorsHash: toHex(validatorsHash(genesis.validators)),
        value: valueJson(p.value),
        valueCbor: p.value === null ? null : toHex(p.value),
        version: t.kind === 'member' ? { height: t.height, index: t.index } : null,
        height: found.header.height,
        stateRoot: toHex(p.stateRoot),
        proof: stateProofToJson(p.proof),
        ...found,
      }
    }
    if (Date.now() >= deadline) return null
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
}

/** The highest header with state root `root` around `height` that its successor certifies. */
async function findCertification(store: LedgerStore, genesis: Genesis, height: number, root: Uint8Array) {
  const top = store.head()!.height - 1
  let lo = height
  while (lo > 0 && lo > height - LOOK_BACK && equalBytes((await store.getHeader(lo - 1))?.stateRoot ?? new Uint8Array(0), root)) lo--
  let best: Pick<CertifiedProof, 'header' | 'certifiedBy'> | null = null
  for (let h = lo; h <= top; h++) {
    const header = await store.getHeader(h)
    if (header === null || !equalBytes(header.stateRoot, root)) break
    const [next, cert] = await Promise.all([store.getHeader(h + 1), store.getCertificate(h + 1)])
    if (next === null || cert === null) continue
    const hash = headerHash(header)
    if (!equalBytes(next.batchDigest, batchDigest(next.time, hash, next.txRoot, genesis.protocol)) || !equalBytes(cert.digest, next.batchDigest)) continue
    best = { header: headerJson(header, hash), certifiedBy: { height: h + 1, timeMs: next.time, txRoot: toHex(next.txRoot), certificate: certificateJson(cert) } }
  }
  return best
}
