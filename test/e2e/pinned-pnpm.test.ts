import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { DEPLOY_DIR } from '../src/scenarios/driver.js'

/** Issue 23: the set-up runs the pnpm pinned in package.json, whatever pnpm is first on PATH. */
const ROOT = join(DEPLOY_DIR, '..')
const pinned = /^pnpm@([0-9][^+]*)/.exec((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { packageManager: string }).packageManager)![1]!

describe('the pinned pnpm', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-pnpm-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  /** A pnpm first on PATH that says it is `version`, records every call and does nothing else. */
  const fakePnpm = (version: string) => {
    const calls = join(dir, `calls-${version}`)
    writeFileSync(join(dir, 'pnpm'), `#!/bin/sh\necho "$*" >> '${calls}'\n[ "$1" = --version ] && echo ${version}\nexit 0\n`)
    chmodSync(join(dir, 'pnpm'), 0o755)
    writeFileSync(calls, '')
    return { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, calls: () => readFileSync(calls, 'utf8').trim().split('\n').filter(Boolean) }
  }
  const sh = (script: string, args: string[], env: NodeJS.ProcessEnv) => execFileSync('bash', [join(ROOT, 'scripts', script), ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 300_000 }).trim()

  it('another pnpm on PATH: scripts/pnpm.sh runs the pinned version and never the other one', () => {
    const other = fakePnpm('9.0.0')
    assert.equal(sh('pnpm.sh', ['--version'], other.env), pinned)
    assert.ok(other.calls().every((c) => c === '--version'), `pnpm.sh ran the other pnpm: ${other.calls().join('; ')}`)
  })

  it('the pinned version on PATH: scripts/pnpm.sh uses it as it is', () => {
    const same = fakePnpm(pinned)
    sh('pnpm.sh', ['run', 'build'], same.env)
    assert.deepEqual(same.calls(), ['--version', 'run build'])
  })

  it('bootstrap with another pnpm on PATH installs and builds with the pinned one', () => {
    const other = fakePnpm('9.0.0')
    sh('bootstrap.sh', [], other.env)
    assert.ok(other.calls().every((c) => c === '--version'), `bootstrap ran the other pnpm: ${other.calls().join('; ')}`)
  })
})
