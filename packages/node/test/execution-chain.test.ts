import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { DEFAULT_CONSENSUS, Signer, batchDigest, decodeTx, encode, headerHash, keyPairFromSeed, toHex, txRootOf, txSignBytes, type Genesis, type LedgerProtocol, type Tx } from '@vigil/common'
import { BlockExecutor } from '../src/ledger/executor.js'
import { freshStore } from '../src/audit/index.js'
import { CHAIN_ID, admin, clinician, hex, makeTx, patient, stranger } from './execution-fixtures.js'

/**
 * Every peer must build byte-identical blocks: this chain of fixed keys, nonces and times pins
 * each block's header hash (covering the results root and state root), so a change to
 * execution, result encoding or write sets that alters any byte fails here.
 */
const genesisOf = (protocol: LedgerProtocol): Genesis => ({
  chainId: CHAIN_ID,
  protocol,
  genesisTime: 1_700_000_000_000,
  validators: [0, 1, 2, 3].map((i) => ({ index: i, name: `vp${i}`, publicKey: keyPairFromSeed(new Uint8Array(32).fill(10 + i)).publicKey, peerId: `vp${i}`, addresses: [`/ip4/127.0.0.1/tcp/${7000 + i}`] })),
  admins: [admin.publicKey],
  consensus: DEFAULT_CONSENSUS,
})

const signers = [admin, patient, clinician, stranger]

/** The same transaction in format 1, as a protocol-1 chain holds it: signed under 'vigil/tx/1', its id the body's hash. */
function formatOne(tx: Tx): Tx {
  const from = signers.find((s) => toHex(s.publicKey) === toHex(tx.body.signer)) as Signer
  const b = tx.body
  return decodeTx(encode([1, b.chainId, b.signer, b.instance, b.method, b.args, b.nonce, from.sign(txSignBytes(b, 1))]))
}

const entry = (day: number) => ({ date: `2026-11-${String(day).padStart(2, '0')}`, bedTime: '23:00', sleepOnsetLatencyMin: 20 + day, wakeAfterSleepOnsetMin: 15, wakeTime: '06:30', riseTime: '06:45', sleepQuality: 1 + (day % 5) })

/** Blocks exercising every method, failures (each code path that writes nothing), reads of the block's own writes, and a duplicate. */
function blocks(): Tx[][] {
  const kv = (method: string, args: Record<string, unknown>, nonce: string) => makeTx(patient, 'store', method, args, nonce)
  const append = (from: typeof patient, day: number, nonce: string) => makeTx(from, 'sleep', 'appendEntry', { patientId: 'P-1', entry: entry(day) }, nonce)
  const deploy = (args: Record<string, unknown>, nonce: string) => makeTx(admin, '_lifecycle', 'deploy', args, nonce)
  const repeated = kv('put', { key: 'r', value: 1 }, 'k9')
  return [
    [deploy({ name: 'store', contract: 'kv', init: { values: { a: 1, b: [true, null, 'x'] } } }, 'd1'), deploy({ name: 'sleep', contract: 'mhealth' }, 'd2'), deploy({ name: 'store', contract: 'kv' }, 'd3')],
    [
      kv('put', { key: 'k', value: { nested: { deep: [1, 2.5, -3] }, s: 'é\u{1F600}' } }, 'k1'),
      kv('add', { key: 'c', delta: 5 }, 'k2'),
      kv('add', { key: 'c', delta: -7 }, 'k3'),
      kv('add', { key: 'k', delta: 1 }, 'k4'),
      kv('delete', { key: 'a' }, 'k5'),
      kv('delete', { key: 'a' }, 'k6'),
      kv('put', { key: 'k', value: 2 }, 'k1'),
      kv('nope', {}, 'k7'),
      makeTx(patient, 'missing', 'put', { key: 'k', value: 1 }, 'k8'),
      makeTx(patient, 'sleep', 'registerPatient', { patientId: 'P-1', profile: { studyArm: 'cbt-i', yearOfBirth: 1980 } }, 'm1'),
      makeTx(patient, 'sleep', 'grantClinician', { patientId: 'P-1', clinicianKey: hex(clinician) }, 'm2'),
      repeated,
    ],
    [
      append(patient, 1, 'm3'),
      append(clinician, 2, 'c1'),
      append(stranger, 3, 's1'),
      makeTx(patient, 'sleep', 'appendEntry', { patientId: 'P-1', entry: { ...entry(4), sleepQuality: 9 } }, 'm4'),
      append(patient, 5, 'm5'),
      makeTx(patient, 'sleep', 'revokeClinician', { patientId: 'P-1', clinicianKey: hex(clinician) }, 'm6'),
      append(clinician, 6, 'c2'),
      repeated,
    ],
    [],
  ]
}

/**
 * Header hashes of blocks 1..4 under each ledger protocol. Protocol 1's were pinned before
 * protocol 2 existed (store format 3): a chain made then still rebuilds to the same bytes, which
 * is what auditing it needs. A change to either list is a chain format change.
 */
const PINNED: Record<LedgerProtocol, string[]> = {
  1: [
    '9a68b40c40628efad5319e427bd3677512a52bf555f3199b7c52b93301278f0d',
    'bfb1ec0b137acbee62325024244526dd7830ee77495d200d0b51d6bc5efc8128',
    'c80a1bc29058dcecf4ed7cf230aa42877384565531ac5f78c09c1c5b827a3755',
    'a096035b2da37ae90145d5d1fcd604dbd71d3c8b0062a8cf6600ee8a17494a66',
  ],
  2: [
    'b566a91735388f5e88fa9fdd320a166d275c9d72cbac7be0c49e1b58b2d3b61d',
    '43bc362f319bb77290d89f5bdc2fca5af440feb5c3eebf3a545e821c63a031b9',
    'e3629f05542860419c9c72fb795c52a5cff4593081c0bda6cef2a1b2c0ae3984',
    'b8432b39051cf1161d3570294c51be4965605769a805002547bb7dd3f0acfa9d',
  ],
}

describe('execution: block hashes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-exec-chain-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  for (const protocol of [1, 2] as const) {
    it(`a fixed chain gives the same header hashes, checked or pre-verified signatures (protocol ${protocol})`, async () => {
      const genesis = genesisOf(protocol)
      for (const verified of [undefined, () => true]) {
        const store = await freshStore(join(dir, `p${protocol}-${verified === undefined ? 'checked' : 'verified'}`), genesis)
        try {
          const executor = new BlockExecutor(store, genesis)
          const hashes: string[] = []
          const codes: number[][] = []
          for (const made of blocks()) {
            const txs = protocol === 1 ? made.map(formatOne) : made
            const head = store.head()!
            const time = head.time + 1000
            const digest = batchDigest(time, head.hash, txRootOf(txs), protocol)
            const { block, hash } = await executor.commit({ seq: head.height + 1, time, parent: head.hash, digest, cert: null }, txs, verified)
            assert.deepEqual(hash, headerHash(block.header))
            hashes.push(toHex(hash))
            codes.push(block.results.map((r) => r.code))
          }
          assert.deepEqual(codes, [[0, 0, 4], [0, 0, 0, 6, 0, 0, 4, 3, 3, 0, 0, 0], [0, 0, 2, 5, 0, 0, 2, 4], []])
          assert.deepEqual(hashes, PINNED[protocol])
        } finally {
          await store.close()
        }
      }
    })
  }

  it('a transaction of the other format fails as UNAUTHORIZED, never runs', async () => {
    for (const protocol of [1, 2] as const) {
      const genesis = genesisOf(protocol)
      const store = await freshStore(join(dir, `other-${protocol}`), genesis)
      try {
        const tx = makeTx(admin, '_lifecycle', 'deploy', { name: 'kv9', contract: 'kv' })
        const wrong = protocol === 1 ? tx : formatOne(tx)
        const head = store.head()!
        const { block } = await new BlockExecutor(store, genesis).commit(
          { seq: 1, time: head.time + 1, parent: head.hash, digest: batchDigest(head.time + 1, head.hash, txRootOf([wrong]), protocol), cert: null }, [wrong],
        )
        assert.equal(block.results[0]!.code, 2)
        assert.match(block.results[0]!.error ?? '', new RegExp(`format version ${3 - protocol} is not accepted`))
      } finally {
        await store.close()
      }
    }
  })
})
