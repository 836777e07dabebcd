import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { withoutCapabilities } from '../src/capabilities.js'
import { DEPLOY_DIR } from '../src/scenarios/driver.js'

/**
 * Issue 23: the summary of `npm test` (scripts/test.mjs) on a machine without network
 * administration: the namespace suite skips with its reason; that is fine there, and a failure
 * under CI=true, where test/ci-must-run.txt says it must run.
 */
const ROOT = join(DEPLOY_DIR, '..')
const SUITE = fileURLToPath(new URL('./netns-faults.test.js', import.meta.url))

function summary(ci: boolean) {
  const ledger = join(ROOT, 'scripts', 'test-ledger.mjs')
  const argv = withoutCapabilities(['NET_ADMIN', 'SYS_ADMIN'], [
    process.execPath, join(ROOT, 'scripts', 'test.mjs'),
    process.execPath, '--test', '--test-reporter=spec', '--test-reporter-destination=stdout', `--test-reporter=${ledger}`, '--test-reporter-destination=stdout', SUITE,
  ])
  if (typeof argv === 'string') return argv
  // Without NODE_TEST_CONTEXT the inner test runner reports as a top-level run would.
  const env: NodeJS.ProcessEnv = { ...process.env, CI: ci ? 'true' : '' }
  delete env.NODE_TEST_CONTEXT
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 120_000, env })
  return { status: r.status, out: r.stdout + r.stderr }
}

describe('the test summary without CAP_NET_ADMIN and CAP_SYS_ADMIN', () => {
  for (const ci of [false, true]) {
    it(ci ? 'CI=true: the skipped must-run suite fails the run, named' : 'not CI: exit 0, the skipped suite listed with what is missing', (t) => {
      const r = summary(ci)
      if (typeof r === 'string') return t.skip(r)
      assert.match(r.out, /^vigil tests: 0 cases ran \(0 passed, 0 failed\), 0 skipped, 0 todo; 1 suites skipped:$/m, r.out.slice(-2000))
      assert.match(r.out, /^ {2}skipped suite test\/e2e\/netns-faults\.test\.ts › fault scenarios on the network-namespace testnet: network namespaces \+ iptables unavailable: .*CAP_SYS_ADMIN/m, r.out.slice(-2000))
      if (ci) {
        assert.match(r.out, /^CI=true: suites in test\/ci-must-run\.txt skipped or did not run: .*test\/e2e\/netns-faults\.test\.ts/m, r.out.slice(-2000))
        assert.equal(r.status, 1, r.out.slice(-2000))
      } else assert.equal(r.status, 0, r.out.slice(-2000))
    })
  }
})
