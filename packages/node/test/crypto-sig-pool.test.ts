import { execFileSync } from 'node:child_process'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Signer, encode, generateKeyPair, signTx, decodeTx, txSignBytes } from '@vigil/common'
import { SigPool, SIG_BATCH, verifiedTxs } from '../src/crypto/index.js'

const signer = new Signer(generateKeyPair())
const tx = (i: number, args: Record<string, unknown> = { n: i, s: 'x'.repeat(i % 300) }) =>
  decodeTx(signTx({ chainId: 'c1', signer: signer.publicKey, instance: 'kv', method: 'put', args, nonce: `n${i}` }, signer).bytes)

test('the pool verifies batches across workers and flags each bad check', async () => {
  const pool = new SigPool(2)
  try {
    const txs = Array.from({ length: SIG_BATCH * 3 + 7 }, (_, i) => tx(i))
    const checks = txs.map((t) => ({ publicKey: t.body.signer, message: t.signBytes, sig: t.sig }))
    const bad = checks[SIG_BATCH + 5]!
    checks[SIG_BATCH + 5] = { ...bad, sig: bad.sig.map((b, k) => (k === 0 ? b ^ 1 : b)) }
    checks[2] = { ...checks[2]!, publicKey: new Uint8Array(31) }
    const ok = await pool.verify(checks)
    assert.equal(ok.length, checks.length)
    ok.forEach((v, i) => assert.equal(v, i === SIG_BATCH + 5 || i === 2 ? 0 : 1, `check ${i}`))
  } finally {
    await pool.close()
  }
})

test('verifiedTxs trusts only checked transactions of the chain, in its format', async () => {
  const pool = new SigPool(1)
  try {
    const good = tx(1)
    const forged = { ...tx(2), sig: new Uint8Array(64) }
    const other = decodeTx(signTx({ chainId: 'c2', signer: signer.publicKey, instance: 'kv', method: 'put', args: {}, nonce: 'o' }, signer).bytes)
    // Validly signed, but in format 1: on a protocol-2 chain verifyTx refuses it, so the pool must not vouch for it.
    const b = tx(3).body
    const formatOne = decodeTx(encode([1, b.chainId, b.signer, b.instance, b.method, b.args, b.nonce, signer.sign(txSignBytes(b, 1))]))
    const verified = await verifiedTxs(pool, [good, forged, other, formatOne], 'c1', 2)
    assert.deepEqual([good, forged, other, formatOne].map(verified), [true, false, false, false])
    assert.equal((await verifiedTxs(pool, [formatOne], 'c1', 1))(formatOne), true)
  } finally {
    await pool.close()
  }
})

test('a closed or failed pool reports checks unverified instead of hanging', async () => {
  const pool = new SigPool(1)
  await pool.close()
  const t = tx(3)
  assert.deepEqual([...(await pool.verify([{ publicKey: t.body.signer, message: t.signBytes, sig: t.sig }]))], [0])
})

test('an idle pool does not keep the process alive', () => {
  const pool = new URL('../src/crypto/index.js', import.meta.url).href
  const script = `import { SigPool } from '${pool}'; const p = new SigPool(2); await p.verify([{ publicKey: new Uint8Array(32), message: new Uint8Array(1), sig: new Uint8Array(64) }]); console.log('done')`
  assert.equal(execFileSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000, encoding: 'utf8' }).trim(), 'done')
})
