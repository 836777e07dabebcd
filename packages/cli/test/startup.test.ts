import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'

/**
 * `vigil --help` and the client commands start in ~0.2 s instead of ~0.8 s because the daemon
 * (libp2p, fastify, LevelDB...) is imported only inside the actions that need it. A top-level
 * import of it anywhere under main.js would quietly undo that; this test names it instead.
 */
const STATIC_IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/g

/** Packages a module loads through its static imports, following our own modules and the workspace packages the CLI depends on. */
function staticDeps(entry: string): Set<string> {
  const seen = new Set<string>()
  const external = new Set<string>()
  const resolveWorkspace = (spec: string) => {
    try {
      return import.meta.resolve(spec)
    } catch {
      return null // not a dependency of the CLI (e.g. @vigil/consensus): reported as it is
    }
  }
  const walk = (url: string) => {
    if (seen.has(url)) return
    seen.add(url)
    for (const [, spec] of readFileSync(new URL(url), 'utf8').matchAll(STATIC_IMPORT)) {
      const workspace = spec!.startsWith('@vigil/') ? resolveWorkspace(spec!) : null
      if (spec!.startsWith('.')) walk(new URL(spec!, url).href)
      else if (workspace !== null) walk(workspace)
      else if (!spec!.startsWith('node:')) external.add(spec!)
    }
  }
  walk(entry)
  return external
}

describe('vigil start-up', () => {
  it('loads only commander and what @vigil/common needs before a command runs', () => {
    assert.deepEqual([...staticDeps(new URL('../src/main.js', import.meta.url).href)].sort(), ['cborg', 'commander', 'sodium-native'])
  })

  it('the library entry (used by the e2e tests) does not load the daemon either', () => {
    assert.deepEqual([...staticDeps(new URL('../src/index.js', import.meta.url).href)].sort(), ['cborg', 'sodium-native'])
  })
})
