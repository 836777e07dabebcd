import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  DEFAULT_CONSENSUS, LEDGER_PROTOCOL, Signer, batchDigest, commitSignBytes, decodeTx, encode, generateKeyPair, genesisJson, quorumSize, toHex, txRootOf, txSignBytes,
  validatorsHash, writeKeyFile, type Genesis, type KeyPair, type LedgerProtocol, type Tx,
} from '@vigil/common'
import { makeTx } from '@vigil/cli'
import { BlockExecutor, freshStore } from '@vigil/node'
import type { LedgerStore } from '@vigil/storage'
import { diaryEntry } from './load.js'

/**
 * A real, valid ledger built without a network: blocks executed by the node's BlockExecutor,
 * each certified by a quorum of a generated validator set (the same signatures PBFT would gather).
 * For audit benchmarks and proof tests that need many blocks fast.
 */
export interface LocalChain {
  genesis: Genesis
  validatorKeys: KeyPair[]
  store: LedgerStore
  /** Appends one block of these transactions (an empty block if none) and certifies it. */
  commit(txs: Tx[]): Promise<number>
  patientKeys: KeyPair[]
}

/** `protocol` 1 makes a chain as releases before protocol 2 did: format-1 transactions, 'vigil/batch/1' digests. */
export async function localChain(dir: string, o: { chainId?: string; validatorKeys?: KeyPair[]; patients?: number; protocol?: LedgerProtocol } = {}): Promise<LocalChain> {
  const validatorKeys = o.validatorKeys ?? Array.from({ length: 4 }, () => generateKeyPair())
  const admin = generateKeyPair()
  const protocol = o.protocol ?? LEDGER_PROTOCOL
  const genesis: Genesis = {
    chainId: o.chainId ?? 'vigil-local',
    protocol,
    genesisTime: Date.UTC(2026, 10, 1),
    validators: validatorKeys.map((k, i) => ({ index: i, name: `vp${i}`, publicKey: k.publicKey, peerId: `local-vp${i}`, addresses: [`/ip4/127.0.0.1/tcp/${7000 + i}`] })),
    admins: [admin.publicKey],
    consensus: DEFAULT_CONSENSUS,
  }
  const store = await freshStore(dir, genesis)
  const executor = new BlockExecutor(store, genesis)
  const signers = validatorKeys.map((k) => new Signer(k))
  const domain = { chainId: genesis.chainId, validatorsHash: validatorsHash(genesis.validators) }
  const quorum = quorumSize(validatorKeys.length)
  let round = 0
  const patientKeys = Array.from({ length: o.patients ?? 4 }, () => generateKeyPair())
  const clientKeys = new Map([admin, ...patientKeys].map((k) => [toHex(k.publicKey), new Signer(k)]))
  const commit = async (made: Tx[]): Promise<number> => {
    const txs = protocol === 1 ? made.map((t) => formatOne(t, clientKeys.get(toHex(t.body.signer))!)) : made
    const head = store.head()!
    const seq = head.height + 1
    const time = head.time + 1000
    const digest = batchDigest(time, head.hash, txRootOf(txs), protocol)
    // Rotate which quorum signs, so every validator appears in certificates.
    const who = Array.from({ length: quorum }, (_, k) => (round + k) % validatorKeys.length).sort((a, b) => a - b)
    round++
    const cert = { view: 0, seq, digest, sigs: who.map((i) => ({ replica: i, sig: signers[i]!.sign(commitSignBytes(domain, 0, seq, digest)) })) }
    await executor.commit({ seq, time, parent: head.hash, digest, cert }, txs)
    return seq
  }
  await commit([makeTx(genesis.chainId, admin, '_lifecycle', 'deploy', { name: 'sleep', contract: 'mhealth' })])
  await commit(patientKeys.map((k, i) => makeTx(genesis.chainId, k, 'sleep', 'registerPatient', { patientId: `P-${i}`, profile: { studyArm: i % 2 === 0 ? 'cbt-i' : 'control' } })))
  return { genesis, validatorKeys, store, commit, patientKeys }
}

/** The transaction as a protocol-1 chain holds it: format 1, signed under 'vigil/tx/1'. */
function formatOne(tx: Tx, signer: Signer): Tx {
  const b = tx.body
  return decodeTx(encode([1, b.chainId, b.signer, b.instance, b.method, b.args, b.nonce, signer.sign(txSignBytes(b, 1))]))
}

/** `count` diary entries spread over the chain's patients, days counted from `firstDay`. */
export function diaryTxs(chain: LocalChain, count: number, firstDay: number): Tx[] {
  const n = chain.patientKeys.length
  return Array.from({ length: count }, (_, i) => {
    const p = (firstDay + i) % n
    return makeTx(chain.genesis.chainId, chain.patientKeys[p]!, 'sleep', 'appendEntry', { patientId: `P-${p}`, entry: diaryEntry(Math.floor((firstDay + i) / n)) })
  })
}

/** A peer home around a data directory (config.json, genesis.json, a validator key), so `vigil verify --home` can read it. */
export function peerHome(home: string, chain: LocalChain, dataDir: string): void {
  mkdirSync(home, { recursive: true })
  writeFileSync(join(home, 'genesis.json'), JSON.stringify(genesisJson(chain.genesis), null, 2) + '\n')
  writeKeyFile(join(home, 'key.json'), chain.validatorKeys[0]!, true)
  writeFileSync(join(home, 'config.json'), JSON.stringify({ genesis: 'genesis.json', key: 'key.json', dataDir, listen: ['/ip4/127.0.0.1/tcp/0'] }, null, 2) + '\n')
}
