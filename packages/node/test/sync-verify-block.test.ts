import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { decode as cborDecode, encode as cborEncode } from 'cborg'
import { DEFAULT_CONSENSUS, LEDGER_PROTOCOL, Signer, ValidationError, decodeCertificate, encodeCertificate, equalBytes, keyPairFromSeed, type Genesis, type Tx } from '@vigil/common'
import type { LedgerStore } from '@vigil/storage'
import { freshStore } from '../src/audit/index.js'
import { SigPool } from '../src/crypto/index.js'
import { BlockExecutor } from '../src/ledger/executor.js'
import { BlockVerifier } from '../src/sync/verify-block.js'
import type { RawBlock } from '../src/sync/protocol.js'
import { CHAIN_ID, admin, makeTx, patient } from './execution-fixtures.js'
import { certifiedChain, withBadSignature } from './sync-fixtures.js'

/**
 * BlockVerifier on blocks as a sync responder would serve them: a chain built and certified by
 * a quorum here, then served whole or altered. Signatures go through a real signature pool, so
 * a check the pool answers "bad" must still fail the block.
 */
const validators = [0, 1, 2, 3].map((i) => new Signer(keyPairFromSeed(new Uint8Array(32).fill(20 + i))))
const genesis: Genesis = {
  chainId: CHAIN_ID,
  protocol: LEDGER_PROTOCOL,
  genesisTime: 1_700_000_000_000,
  validators: validators.map((v, i) => ({ index: i, name: `vp${i}`, publicKey: v.publicKey, peerId: `vp${i}`, addresses: [`/ip4/127.0.0.1/tcp/${7000 + i}`] })),
  admins: [admin.publicKey],
  consensus: DEFAULT_CONSENSUS,
}

describe('block sync verification', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-verify-block-'))
  const pool = new SigPool(2)
  const served: RawBlock[] = []
  let runs = 0

  before(async () => {
    const blocks: Tx[][] = [
      [makeTx(admin, '_lifecycle', 'deploy', { name: 'store', contract: 'kv' })],
      Array.from({ length: 20 }, (_, i) => makeTx(patient, 'store', 'put', { key: `k${i}`, value: { n: i, half: i / 2 } })),
      [makeTx(patient, 'store', 'add', { key: 'c', delta: 2 }), makeTx(patient, 'store', 'delete', { key: 'k1' })],
    ]
    served.push(...(await certifiedChain(join(dir, 'source'), genesis, validators, blocks)))
  })
  after(async () => {
    await pool.close()
    rmSync(dir, { recursive: true, force: true })
  })

  /** Verifies and commits `chain` on a fresh store; returns the store's block bytes, or throws the first refusal. */
  async function sync(chain: RawBlock[]): Promise<Uint8Array[]> {
    const store: LedgerStore = await freshStore(join(dir, `sync-${runs++}`), genesis)
    try {
      const verifier = new BlockVerifier(genesis, store, new BlockExecutor(store, genesis), pool)
      for (const prepared of verifier.prepareRange(chain)) {
        const { sealed, cert } = await verifier.verify(prepared)
        await store.commitBlocks([{ block: sealed.block, cert, bytes: sealed.bytes }])
      }
      return await Promise.all(chain.map((_, i) => store.getBlockBytes(i + 1).then((b) => b!)))
    } finally {
      await store.close()
    }
  }

  const refused = (chain: RawBlock[], pattern: RegExp) => assert.rejects(sync(chain), (err: Error) => err instanceof ValidationError && pattern.test(err.message))
  /** The served chain with block `at` (1-based) replaced. */
  const withBlock = (at: number, raw: Partial<RawBlock>): RawBlock[] => served.map((r, i) => (i === at - 1 ? { ...r, ...raw } : r))

  it('rebuilds and stores an honest chain byte for byte', async () => {
    const stored = await sync(served)
    stored.forEach((b, i) => assert.ok(equalBytes(b, served[i]!.block), `block ${i + 1} differs`))
  })

  it('refuses a certificate signature that is not its replica\'s', async () => {
    const cert = decodeCertificate(served[1]!.cert!)
    const forged = { ...cert, sigs: [cert.sigs[0]!, { replica: 1, sig: cert.sigs[2]!.sig }, cert.sigs[2]!] }
    await refused(withBlock(2, { cert: encodeCertificate(forged) }), /certificate for seq 2: signature of replica 1 does not verify/)
  })

  it('refuses a certificate short of a quorum', async () => {
    const cert = decodeCertificate(served[1]!.cert!)
    await refused(withBlock(2, { cert: encodeCertificate({ ...cert, sigs: cert.sigs.slice(0, 2) }) }), /2 signatures, 3 needed/)
  })

  it('refuses transactions other than the certified batch', async () => {
    const v = cborDecode(served[1]!.block) as [unknown, Uint8Array[], unknown[]]
    const swapped = cborEncode([v[0], [v[1][1]!, v[1][0]!, ...v[1].slice(2)], [v[2][1], v[2][0], ...v[2].slice(2)]])
    await refused(withBlock(2, { block: swapped }), /block 2: transactions do not match txRoot/)
  })

  it('refuses a block holding a transaction whose signature does not verify, though re-executed to match', async () => {
    // Mid-chain (block 2, block 3 after it links to it) and as the last block (3, nothing after it).
    for (const at of [2, 3]) {
      const forged = await withBadSignature(join(dir, `forged-${at}`), genesis, served, at, 1)
      assert.ok(!equalBytes(forged.block, served[at - 1]!.block))
      // Once ids cover signatures, the altered transaction is no longer the certified one: refused by the batch digest or txRoot.
      await refused(withBlock(at, forged).slice(0, at), new RegExp(`block ${at}: (transaction [0-9a-f]{64} \\(index 1\\): transaction signature does not verify|transactions do not match txRoot|batch digest does not match its time, parent and transactions)`))
    }
  })

  it('refuses a block whose recorded results differ from re-execution', async () => {
    const v = cborDecode(served[2]!.block) as [unknown, unknown, Array<[number, string | null, unknown, unknown]>]
    const altered = cborEncode([v[0], v[1], v[2].map((r, i) => (i === 0 ? [r[0], r[1], 40, r[3]] : r))])
    await refused(withBlock(3, { block: altered }), /block 3: block body differs from its re-execution/)
  })

  // Map keys in descending order instead of the canonical ascending one.
  const descending = (a: Array<{ value: unknown }>, b: Array<{ value: unknown }>): number => (String(a[0]!.value) < String(b[0]!.value) ? 1 : -1)

  it('refuses a transaction in another encoding, though it decodes to the same transaction', async () => {
    const v = cborDecode(served[1]!.block) as [unknown, Uint8Array[], unknown]
    const tx0 = cborEncode(cborDecode(v[1][0]!), { mapSorter: descending })
    assert.ok(!equalBytes(tx0, v[1][0]!), 'the test encoding must differ from the canonical one')
    await refused(withBlock(2, { block: cborEncode([v[0], [tx0, ...v[1].slice(1)], v[2]]) }), /block 2: transactions do not match txRoot/)
  })

  it('refuses an encoding that is not canonical, though it decodes to the same block', async () => {
    // The deploy result returns an object.
    const reordered = cborEncode(cborDecode(served[0]!.block), { mapSorter: descending })
    assert.ok(!equalBytes(reordered, served[0]!.block), 'the test encoding must differ from the canonical one')
    await refused(withBlock(1, { block: reordered }), /block 1: block body differs from its re-execution/)
  })
})
