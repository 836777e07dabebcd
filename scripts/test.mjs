// `npm test`: every package's tests (pnpm -r run test, one package at a time), then a summary:
// how many cases passed, failed and were skipped, and each skipped suite or case with its reason.
// With CI=true it also fails when a suite listed in test/ci-must-run.txt skipped or did not run,
// so on the project's own CI a skip can never hide a regression.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)))
const MUST_RUN = 'test/ci-must-run.txt'
const ci = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase())

const dir = mkdtempSync(join(tmpdir(), 'vigil-test-'))
const ledgerFile = join(dir, 'ledger.jsonl')
// Arguments, if any, are a command to run instead (a subset of the tests, with the same summary).
const [cmd, ...args] = process.argv.length > 2 ? process.argv.slice(2) : ['bash', join(ROOT, 'scripts/pnpm.sh'), '-r', '--workspace-concurrency=1', 'run', 'test']
const run = spawnSync(cmd, args, {
  stdio: 'inherit',
  env: { ...process.env, VIGIL_TEST_LEDGER: ledgerFile },
})
let lines = []
try {
  lines = readFileSync(ledgerFile, 'utf8').trim().split('\n').filter(Boolean)
} catch {}
rmSync(dir, { recursive: true, force: true })
const entries = lines.map((l) => JSON.parse(l))

const cases = entries.filter((e) => !e.suite)
const count = (o) => cases.filter((e) => e.outcome === o).length
const skips = entries.filter((e) => e.outcome === 'skip')
const skippedSuites = skips.filter((e) => e.suite)
const failedSuites = entries.filter((e) => e.suite && e.outcome === 'fail')
console.log(
  `\nvigil tests: ${count('pass') + count('fail')} cases ran (${count('pass')} passed, ${count('fail')} failed), ${count('skip')} skipped` +
    `, ${count('todo')} todo; ${failedSuites.length ? `${failedSuites.length} suites failed, ` : ''}${skippedSuites.length} suites skipped${skips.length ? ':' : ''}`,
)
for (const e of skips) console.log(`  skipped ${e.suite ? 'suite' : 'case'} ${e.file} › ${e.name}: ${e.reason ?? '(no reason given)'}`)

const mustRun = readFileSync(join(ROOT, MUST_RUN), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
const notRun = mustRun.filter((f) => !entries.some((e) => e.file === f && e.outcome === 'pass') || skips.some((e) => e.file === f))
let status = run.status ?? 1
if (notRun.length === 0) console.log(`every suite in ${MUST_RUN} ran (${mustRun.length})`)
else if (ci) {
  console.log(`CI=true: suites in ${MUST_RUN} skipped or did not run: ${notRun.join(', ')}`)
  status ||= 1
} else console.log(`not CI: ${notRun.length} of the ${mustRun.length} suites in ${MUST_RUN} did not run here (with CI=true that fails)`)
process.exit(status)
