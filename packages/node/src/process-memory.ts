import { setFlagsFromString } from 'node:v8'

/**
 * Process-wide memory settings for a long-running peer (issue #8). Measured on a 4-peer
 * cluster under 900 tx/s: most of a peer's RSS was neither live JavaScript (~60-70 MB after a
 * full GC) nor live native buffers, but room the allocators kept:
 *
 * - glibc malloc: the main arena held 210-430 MB of which 75-240 MB was free. glibc raises its
 *   mmap threshold to the size of the largest mmapped chunk freed so far (gdb showed 12 MB), so
 *   after the first large Buffer every buffer below that size comes from the brk heap, and what
 *   is freed there stays resident behind longer-lived allocations above it. A fixed threshold
 *   (MALLOC_MMAP_THRESHOLD_, which also fixes the trim threshold) sends large buffers back to the
 *   kernel on free; MALLOC_ARENA_MAX=2 stops each libuv/LevelDB/worker thread from keeping its own
 *   64 MB arena. glibc reads these only at process start.
 * - V8: the old generation's allocation limit is the live size times a growing factor of up to
 *   4; with 60 MB live the old space sat at 135-145 MB committed. A fixed factor of 1.5 keeps it
 *   near live size at the cost of more frequent (mostly concurrent) major GCs.
 */
export const MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '131072',
}

/** Growth of the old generation past the live size after a full GC, in percent. */
export const HEAP_GROWING_PERCENT = 50

/** True when the operator already chose malloc settings (ours or their own), or turned this off. */
export function mallocChosen(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.VIGIL_MALLOC_TUNING === 'off') return true
  return Object.keys(MALLOC_ENV).some((k) => env[k] !== undefined) || env.GLIBC_TUNABLES?.includes('glibc.malloc') === true || env.LD_PRELOAD !== undefined
}

/** The environment for a peer process this one starts: `env` plus MALLOC_ENV unless malloc settings were already chosen. */
export function withMallocEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return mallocChosen(env) ? env : { ...env, ...MALLOC_ENV }
}

type Execve = (file: string, args: string[], env: NodeJS.ProcessEnv) => never

/**
 * Makes the malloc settings apply to this process: on Linux, when nobody chose any, re-executes
 * the same command in place (same pid, same arguments) with MALLOC_ENV added, through
 * process.execve (Node >= 22.15). Call it first thing, before anything opens files or threads.
 * Returns null when the settings are in force (or not applicable), else why they are not; never
 * returns after a successful exec.
 */
export function applyMallocSettings(): string | null {
  if (process.platform !== 'linux' || mallocChosen()) return null
  const execve = (process as unknown as { execve?: Execve }).execve
  const hint = Object.entries(MALLOC_ENV).map(([k, v]) => `${k}=${v}`).join(' ')
  if (typeof execve !== 'function') return `glibc malloc keeps freed memory resident under load; set ${hint} in the environment (done automatically on Node >= 22.15)`
  try {
    execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], withMallocEnv())
  } catch (err) {
    return `could not re-execute with ${hint}: ${(err as Error).message}`
  }
  return null
}

/** Bounds the V8 heap's room over its live size (see above). Read by V8 at every heap-limit computation, so it applies from the next GC. */
export function tuneV8Heap(percent = Number(process.env.VIGIL_HEAP_GROWING_PERCENT ?? HEAP_GROWING_PERCENT)): void {
  if (Number.isInteger(percent) && percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`)
}
