import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { parseGenesis } from '@vigil/common'

/** The vigil command as a user runs it: arguments checked, clear errors, exit codes. */
const BIN = new URL('../../bin/vigil.js', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'vigil-cli-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function vigil(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

describe('vigil CLI', () => {
  it('keygen writes a 0600 key file, prints its public key and peer id, and refuses to overwrite', () => {
    const file = join(dir, 'k.json')
    const r = vigil('keygen', '--out', file, '--json')
    assert.equal(r.code, 0, r.err)
    const printed = JSON.parse(r.out) as { publicKey: string; peerId: string }
    assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { publicKey: string }).publicKey, printed.publicKey)
    assert.match(printed.peerId, /^12D3KooW/)
    assert.equal(statSync(file).mode & 0o777, 0o600)
    const again = vigil('keygen', '--out', file)
    assert.equal(again.code, 1)
    assert.match(again.err, /exists \(use --force/)
  })

  it('testnet init writes genesis, homes, keys and a manifest, and refuses to overwrite without --force', () => {
    const tn = join(dir, 'tn')
    const r = vigil('testnet', 'init', '--dir', tn, '--nodes', '4', '--base-port', '0')
    assert.equal(r.code, 0, r.err)
    const g = parseGenesis(JSON.parse(readFileSync(join(tn, 'genesis.json'), 'utf8')))
    assert.equal(g.validators.length, 4)
    for (let i = 0; i < 4; i++) assert.ok(existsSync(join(tn, `vp${i}`, 'config.json')) && existsSync(join(tn, `vp${i}`, 'node-key.json')))
    const m = JSON.parse(readFileSync(join(tn, 'testnet.json'), 'utf8')) as { nodes: Array<{ api: string }> }
    assert.equal(m.nodes.length, 4)
    assert.equal(vigil('testnet', 'init', '--dir', tn).code, 1)
    assert.equal(vigil('testnet', 'init', '--dir', tn, '--nodes', '4', '--base-port', '0', '--force').code, 0)
  })

  it('names the bad argument', () => {
    const nodes = vigil('testnet', 'init', '--dir', join(dir, 'x'), '--nodes', 'many')
    assert.equal(nodes.code, 1)
    assert.match(nodes.err, /--nodes/)
    const args = vigil('invoke', '--name', 'kv1', '--method', 'put', '--args', '{not json', '--key', join(dir, 'k.json'))
    assert.equal(args.code, 1)
    assert.match(args.err, /--args: not valid JSON/)
    const url = vigil('status', '--node', 'not a url')
    assert.equal(url.code, 1)
    assert.match(url.err, /is not a URL/)
    const unknown = vigil('frobnicate')
    assert.notEqual(unknown.code, 0)
  })

  it('refuses a malformed key file and an unreachable peer with a clear message', () => {
    const bad = join(dir, 'bad-key.json')
    writeFileSync(bad, '{"type":"ed25519","seed":"zz"}')
    const r = vigil('invoke', '--node', 'http://127.0.0.1:1', '--name', 'kv1', '--method', 'put', '--args', '{}', '--key', bad)
    assert.equal(r.code, 1)
    assert.match(r.err, /seed/)
    const down = vigil('query', '--node', 'http://127.0.0.1:1', '--name', 'kv1', '--method', 'get', '--args', '{"key":"a"}')
    assert.equal(down.code, 1)
    assert.match(down.err, /127\.0\.0\.1:1/)
  })

  it('node start refuses a config with a bad field, naming it', () => {
    const tn = join(dir, 'tn')
    const cfgPath = join(tn, 'vp0', 'config.json')
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, http: { port: 'eighty' }, colour: 'blue' }))
    const r = vigil('node', 'start', '--home', join(tn, 'vp0'))
    assert.equal(r.code, 1)
    assert.match(r.err, /http\.port/)
    assert.match(r.err, /colour: unknown setting/)
  })
})
