import { execFileSync } from 'node:child_process'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MALLOC_ENV, mallocChosen, withMallocEnv } from '../src/process-memory.js'

test('malloc settings are added only when nobody chose any', () => {
  assert.equal(mallocChosen({}), false)
  assert.deepEqual(withMallocEnv({ A: '1' }), { A: '1', ...MALLOC_ENV })
  // An operator's own choice wins, whole: nothing of ours is mixed in.
  for (const env of [{ MALLOC_ARENA_MAX: '4' }, { MALLOC_MMAP_THRESHOLD_: '65536' }, { GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=0' }, { LD_PRELOAD: '/usr/lib/libjemalloc.so.2' }, { VIGIL_MALLOC_TUNING: 'off' }]) {
    assert.equal(mallocChosen(env), true, JSON.stringify(env))
    assert.deepEqual(withMallocEnv(env), env)
  }
})

test('the V8 heap growth setting is accepted at run time', () => {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `
    import { tuneV8Heap } from ${JSON.stringify(new URL('../src/process-memory.js', import.meta.url).href)}
    import { getHeapStatistics } from 'node:v8'
    tuneV8Heap(50)
    // Garbage with a small live set: the heap must stay near it, not grow toward the default factor of up to 4.
    let keep = []
    for (let i = 0; i < 3_000_000; i++) { const o = { i, s: 'x' + i }; if (i % 100 === 0) keep.push(o); if (keep.length > 20_000) keep = [] }
    console.log(getHeapStatistics().total_heap_size)
  `], { encoding: 'utf8' })
  assert.ok(Number(out) > 0)
})
