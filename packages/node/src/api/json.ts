import { decodeCanonical, toHex, type Block, type BlockHeader, type CommitCertificate, type Tx, type TxResult } from '@vigil/common'

/** JSON views of ledger structures for the HTTP API: bytes as lower-case hex, state values decoded. */

export const valueJson = (v: Uint8Array | null): unknown => (v === null ? null : decodeCanonical(v, 1 << 24, 'state value'))

export function headerJson(h: BlockHeader, hash: Uint8Array) {
  return {
    hash: toHex(hash),
    chainId: h.chainId,
    height: h.height,
    prevHash: toHex(h.prevHash),
    time: new Date(h.time).toISOString(),
    timeMs: h.time,
    txRoot: toHex(h.txRoot),
    resultsRoot: toHex(h.resultsRoot),
    stateRoot: toHex(h.stateRoot),
    batchDigest: toHex(h.batchDigest),
    validatorsHash: toHex(h.validatorsHash),
  }
}

export function txJson(tx: Tx) {
  const b = tx.body
  return { id: toHex(tx.id), version: tx.version, chainId: b.chainId, signer: toHex(b.signer), instance: b.instance, method: b.method, args: b.args, nonce: b.nonce, sig: toHex(tx.sig) }
}

export function resultJson(r: TxResult) {
  return { ok: r.code === 0, code: r.code, error: r.error, ret: r.ret, writes: r.writes.map((w) => ({ instance: w.instance, key: w.key, value: valueJson(w.value) })) }
}

export function certificateJson(c: CommitCertificate) {
  return { view: c.view, seq: c.seq, digest: toHex(c.digest), sigs: c.sigs.map((s) => ({ replica: s.replica, sig: toHex(s.sig) })) }
}

export function blockJson(b: Block, hash: Uint8Array, cert: CommitCertificate | null) {
  return {
    header: headerJson(b.header, hash),
    txs: b.txs.map((tx, i) => ({ ...txJson(tx), result: resultJson(b.results[i]!) })),
    certificate: cert === null ? null : certificateJson(cert),
  }
}
