// A node:test reporter that prints nothing: when VIGIL_TEST_LEDGER names a file, it appends one
// JSON line per finished case, and per skipped suite, for scripts/test.mjs to sum up across
// packages (a skipped suite's cases never start, so node's own counts leave them out).
import { appendFileSync } from 'node:fs'
import { dirname, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)))
const LEDGER = process.env.VIGIL_TEST_LEDGER

/** packages/node/dist/test/x.test.js -> packages/node/test/x.test.ts: the file a reader edits. */
export const sourceOf = (file) => relative(ROOT, file).replace(/(^|\/)dist\//, '$1').replace(/\.js$/, '.ts')

export default async function* ledger(source) {
  for await (const { type, data } of source) {
    if (!LEDGER || (type !== 'test:pass' && type !== 'test:fail')) continue
    const suite = data.details?.type === 'suite'
    const outcome = type === 'test:fail' ? 'fail' : data.skip !== undefined ? 'skip' : data.todo !== undefined ? 'todo' : 'pass'
    // A suite that passed is the sum of its cases, already counted; one that failed may have
    // failed outside them (its own callback or hooks) and is kept.
    if (suite && outcome === 'pass') continue
    const reason = typeof data.skip === 'string' ? data.skip : undefined
    appendFileSync(LEDGER, JSON.stringify({ file: data.file ? sourceOf(data.file) : '?', name: data.name, suite, outcome, reason }) + '\n')
  }
}
