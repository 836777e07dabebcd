/**
 * A malicious sync responder for tests: runs with a real validator's key and a copy of its
 * ledger, answers /vigil/sync/1 like an honest peer, but alters every block it serves that
 * has transactions (the first transaction's arguments, re-signed, and txRoot recomputed, as
 * a careful liar would). Usage: node liar-peer.js <peer home> <ledger copy dir>
 */
import { Signer, decodeBlock, encodeBlock, encodeCertificate, signTx, txRootOf } from '@vigil/common'
import { loadConfig, PeerLinks } from '@vigil/node'
import { LedgerStore } from '@vigil/storage'
import { encode, decodeCanonical } from '@vigil/common'
import pino from 'pino'

const [home, dataCopy] = process.argv.slice(2)
if (home === undefined || dataCopy === undefined) throw new Error('usage: liar-peer <home> <ledger copy dir>')
const cfg = loadConfig(home)
const store = await LedgerStore.open(dataCopy)
const signer = new Signer(cfg.keyPair)
const log = pino({ level: 'silent' })
const links = new PeerLinks({ keyPair: cfg.keyPair, listen: cfg.listen, validators: cfg.genesisDoc.validators, self: cfg.index, logger: log })
let forged = 0

function forge(bytes: Uint8Array): Uint8Array {
  const b = decodeBlock(bytes)
  if (b.txs.length === 0) return bytes
  const t = b.txs[0]!
  b.txs[0] = signTx({ ...t.body, signer: signer.publicKey, args: { ...t.body.args, forged: true } }, signer)
  b.header.txRoot = txRootOf(b.txs)
  forged++
  return encodeBlock(b)
}

links.handle(
  '/vigil/sync/1',
  async (_from, req) => {
    const r = decodeCanonical(req, 64, 'req') as unknown[]
    const head = store.head()!
    if (r[0] === 'status') return encode([head.height, head.hash])
    const from = r[1] as number
    const count = r[2] as number
    const out: unknown[] = []
    for (let h = from; h < from + count && h <= head.height; h++) {
      const block = (await store.getBlockBytes(h))!
      const cert = await store.getCertificate(h)
      out.push([forge(block), cert === null ? null : encodeCertificate(cert)])
    }
    return encode(out)
  },
  { maxRequestBytes: 64 },
)
await links.start()
process.stdout.write(`liar ready as vp${cfg.index} at height ${store.head()!.height}\n`)
setInterval(() => process.stdout.write(`forged ${forged}\n`), 500).unref()
process.once('SIGTERM', () => {
  void links.stop().then(() => store.close()).then(() => process.exit(0))
})
