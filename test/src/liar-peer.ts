/**
 * A malicious sync responder for tests: runs with a real validator's key and a copy of its
 * ledger and answers /vigil/sync/2 (STATUS in the two-field form every version decodes, or with
 * --cert with its head's genuine commit certificate too), lying in the way its mode names:
 *   forge      serves every block that has transactions altered: the first transaction's
 *              arguments changed and re-signed by the liar, txRoot recomputed
 *   bad-sig    serves every block that has transactions with one byte of the first one's
 *              signature flipped (its id and so the certified batch unchanged), re-executed on
 *              the true state before it so results and state root agree: a careful forger
 *   lie-height claims a height far above the chain's and answers every block request with nothing
 *   empty      claims its true height and answers every block request with nothing
 * Usage: node liar-peer.js <peer home> <ledger copy dir> [--mode forge|bad-sig|lie-height|empty] [--cert]
 * It prints "liar ready ..." once listening, then "served N forged M empty K" twice a second.
 */
import { join } from 'node:path'
import { Signer, ZERO_HASH, batchDigest, decodeBlock, decodeBlockTxs, decodeCanonical, decodeTx, encode, encodeBlock, encodeCertificate, equalBytes, signTx, txRootOf, type Tx } from '@vigil/common'
import { BlockExecutor, freshStore, loadConfig, PeerLinks, SYNC_PROTOCOL } from '@vigil/node'
import { LedgerStore } from '@vigil/storage'
import pino from 'pino'

const MODES = ['forge', 'bad-sig', 'lie-height', 'empty'] as const
type Mode = (typeof MODES)[number]
const LIE_HEIGHT = 1_000_000_000
const NULL_DIGEST = batchDigest(0, null, ZERO_HASH)

const args = process.argv.slice(2)
const modeAt = args.indexOf('--mode')
const mode = (modeAt < 0 ? 'forge' : args.splice(modeAt, 2)[1]) as Mode
const certAt = args.indexOf('--cert')
/** STATUS carries the head's genuine commit certificate, the evidence a peer asks of a height no other peer vouches for. */
const withCert = certAt >= 0 && args.splice(certAt, 1).length === 1
const [home, dataCopy] = args
if (home === undefined || dataCopy === undefined || !MODES.includes(mode)) throw new Error(`usage: liar-peer <home> <ledger copy dir> [--mode ${MODES.join('|')}] [--cert]`)
const cfg = loadConfig(home)
const store = await LedgerStore.open(dataCopy)
const signer = new Signer(cfg.keyPair)
const log = pino({ level: 'silent' })
const links = new PeerLinks({ keyPair: cfg.keyPair, listen: cfg.listen, validators: cfg.genesisDoc.validators, self: cfg.index, logger: log })
const head = store.head()!
const counts = { served: 0, forged: 0, empty: 0 }

function forge(bytes: Uint8Array): Uint8Array {
  const b = decodeBlock(bytes)
  if (b.txs.length === 0) return bytes
  const t = b.txs[0]!
  b.txs[0] = signTx({ ...t.body, signer: signer.publicKey, args: { ...t.body.args, forged: true } }, signer)
  b.header.txRoot = txRootOf(b.txs)
  return encodeBlock(b)
}

/** The transaction with one byte of its signature flipped, in its encoding. */
function flipSignatureByte(tx: Tx): Tx {
  const bytes = tx.bytes.slice()
  const at = Buffer.from(bytes).indexOf(Buffer.from(tx.sig))
  bytes[at + 7]! ^= 0x01
  return decodeTx(bytes)
}

/** bad-sig: every block with transactions, re-executed with its first signature altered on the true state before it. */
async function badSigBlocks(): Promise<Map<number, Uint8Array>> {
  const out = new Map<number, Uint8Array>()
  const replay = await freshStore(join(dataCopy!, '..', 'liar-replay'), cfg.genesisDoc)
  const executor = new BlockExecutor(replay, cfg.genesisDoc)
  try {
    for (let h = 1; h <= head.height; h++) {
      const { header, txs } = decodeBlockTxs((await store.getBlockBytes(h))!)
      // A null batch (a view change's hole) was proposed on no parent.
      const hole = txs.length === 0 && equalBytes(header.batchDigest, NULL_DIGEST)
      const batch = { seq: h, time: hole ? 0 : header.time, parent: hole ? null : header.prevHash, digest: header.batchDigest, cert: await store.getCertificate(h) }
      if (txs.length > 0) out.set(h, (await executor.build(batch, [flipSignatureByte(txs[0]!), ...txs.slice(1)])).bytes)
      await executor.commit(batch, txs, () => true)
    }
  } finally {
    await replay.close()
  }
  return out
}
const badSig = mode === 'bad-sig' ? await badSigBlocks() : new Map<number, Uint8Array>()

links.handle(
  SYNC_PROTOCOL,
  async (_from, req) => {
    const r = decodeCanonical(req, 64, 'req') as unknown[]
    if (r[0] === 'status') {
      const height = mode === 'lie-height' ? LIE_HEIGHT : head.height
      if (!withCert) return encode([height, head.hash])
      const cert = await store.getCertificate(head.height)
      return encode([height, head.hash, cert === null ? null : encodeCertificate(cert)])
    }
    if (mode === 'lie-height' || mode === 'empty') {
      counts.empty++
      return encode([])
    }
    const from = r[1] as number
    const count = r[2] as number
    const out: unknown[] = []
    for (let h = from; h < from + count && h <= head.height; h++) {
      const block = (await store.getBlockBytes(h))!
      const cert = await store.getCertificate(h)
      const served = mode === 'forge' ? forge(block) : (badSig.get(h) ?? block)
      if (served !== block) counts.forged++
      out.push([served, cert === null ? null : encodeCertificate(cert)])
    }
    counts.served += out.length
    return encode(out)
  },
  { maxRequestBytes: 64 },
)
await links.start()
process.stdout.write(`liar ready as vp${cfg.index} in mode ${mode} at height ${head.height}\n`)
setInterval(() => process.stdout.write(`served ${counts.served} forged ${counts.forged} empty ${counts.empty}\n`), 500).unref()
process.once('SIGTERM', () => {
  void links.stop().then(() => store.close()).then(() => process.exit(0))
})
