import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { diaryTxs, localChain, peerHome, type LocalChain } from '../src/tamper-chain.js'
import { flipBytesIn, vigil } from '../src/tamper.js'

/**
 * `vigil verify --home` checks every signature once, in the re-execution, and the storage checks
 * run beside it. A stored block whose transaction signature or certificate signature was altered
 * on disk (hashes and indexes untouched) must still fail the audit.
 */
describe('offline audit of altered signatures', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-audit-'))
  let chain: LocalChain
  const data = join(dir, 'data')
  let txSig: Uint8Array
  let certSig: Uint8Array

  before(async () => {
    chain = await localChain(data)
    for (let b = 0; b < 4; b++) await chain.commit(diaryTxs(chain, 6, b * 6))
    txSig = (await chain.store.getBlock(4))!.txs[2]!.sig
    certSig = (await chain.store.getCertificate(5))!.sigs[0]!.sig
    await chain.store.close()
  })
  after(() => rmSync(dir, { recursive: true, force: true }))

  /** A copy of the chain with `alter` applied to its data directory, audited by the real command. */
  const auditAltered = async (name: string, alter: (dataDir: string) => Promise<unknown>) => {
    const copy = join(dir, name, 'data')
    cpSync(data, copy, { recursive: true })
    await alter(copy)
    peerHome(join(dir, name, 'home'), chain, copy)
    const run = await vigil(['verify', '--home', join(dir, name, 'home'), '--json'])
    return { code: run.code, report: JSON.parse(run.stdout) as { ok: boolean; problems: Array<{ height?: number; reason: string }> } }
  }

  it('passes the untouched chain', async () => {
    const r = await auditAltered('clean', async () => undefined)
    assert.equal(r.code, 0, JSON.stringify(r.report))
    assert.equal(r.report.ok, true)
  })

  it('fails a block whose transaction signature was altered, naming its height', async () => {
    const r = await auditAltered('tx-sig', (d) => flipBytesIn(d, txSig))
    assert.equal(r.code, 2, JSON.stringify(r.report))
    assert.equal(r.report.problems[0]?.height, 4, JSON.stringify(r.report))
    // The id hashes the signature too (protocol 2), so the certified txRoot no longer matches.
    assert.match(r.report.problems[0]!.reason, /transactions do not match txRoot/)
  })

  it('audits a chain made under ledger protocol 1 by its own rules, and no peer extends it', async () => {
    const old = await localChain(join(dir, 'p1', 'data'), { protocol: 1 })
    await old.commit(diaryTxs(old, 6, 0))
    const entry = (await old.store.getBlock(3))!.txs[0]!
    await old.store.close()
    assert.equal(entry.version, 1)
    const home = join(dir, 'p1', 'home')
    peerHome(home, old, join(dir, 'p1', 'data'))
    const audit = await vigil(['verify', '--home', home, '--json'])
    assert.equal(audit.code, 0, audit.stdout + audit.stderr)
    assert.equal((JSON.parse(audit.stdout) as { ok: boolean }).ok, true)
    const start = await vigil(['node', 'start', '--home', home])
    assert.notEqual(start.code, 0)
    assert.match(start.stderr, /ledger protocol 1, whose certificates do not bind transaction signatures/)
  })

  it('fails a block whose certificate signature was altered, naming its height and the signature', async () => {
    const r = await auditAltered('cert-sig', (d) => flipBytesIn(d, certSig))
    assert.equal(r.code, 2, JSON.stringify(r.report))
    assert.equal(r.report.problems[0]?.height, 5, JSON.stringify(r.report))
    assert.match(r.report.problems[0]!.reason, /signature/)
  })

})
