import { DecodeError } from './errors.js'

/**
 * Shape checks for decoded structures. Each throws a DecodeError naming the field, so a bad
 * message or block from a peer is refused with a reason before anything acts on it.
 */
export function expectArray(v: unknown, what: string, len?: number): unknown[] {
  if (!Array.isArray(v)) throw new DecodeError(`${what}: expected an array`)
  if (len !== undefined && v.length !== len) throw new DecodeError(`${what}: expected ${len} fields, got ${v.length}`)
  return v
}

export function expectBytes(v: unknown, what: string, len?: number): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new DecodeError(`${what}: expected bytes`)
  if (len !== undefined && v.byteLength !== len) throw new DecodeError(`${what}: expected ${len} bytes, got ${v.byteLength}`)
  return v
}

export function expectUint(v: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) throw new DecodeError(`${what}: expected an integer in 0..${max}`)
  return v
}

export function expectString(v: unknown, what: string, maxLen: number, pattern?: RegExp): string {
  if (typeof v !== 'string') throw new DecodeError(`${what}: expected a string`)
  if (v.length > maxLen) throw new DecodeError(`${what}: longer than ${maxLen} characters`)
  if (pattern && !pattern.test(v)) throw new DecodeError(`${what}: does not match ${pattern}`)
  return v
}

export function expectBool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw new DecodeError(`${what}: expected a boolean`)
  return v
}

/** True when `s` has no lone surrogate, so it survives UTF-8 unchanged. (String.prototype.isWellFormed is in Node 20 but not in the ES2023 lib this build targets.) */
export const isWellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed()

/** JSON values only: no bytes, no bigint, no undefined, finite numbers, no "__proto__" keys, keys well-formed Unicode, bounded depth. */
export function expectJson(v: unknown, what: string, maxDepth = 32): unknown {
  const walk = (x: unknown, depth: number): void => {
    if (depth > maxDepth) throw new DecodeError(`${what}: nested deeper than ${maxDepth}`)
    if (x === null || typeof x === 'string' || typeof x === 'boolean') return
    if (typeof x === 'number') {
      if (!Number.isFinite(x)) throw new DecodeError(`${what}: non-finite number`)
      return
    }
    if (Array.isArray(x)) {
      for (const e of x) walk(e, depth + 1)
      return
    }
    if (typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype) {
      // A "__proto__" member cannot survive decoding into a plain object, so it could never be read back.
      if (Object.hasOwn(x, '__proto__')) throw new DecodeError(`${what}: "__proto__" is not allowed as a key`)
      const keys = Object.keys(x)
      for (const k of keys) {
        // Keys are stored as UTF-8: a lone surrogate would come back as U+FFFD, and two keys could become one (undecodable CBOR).
        if (!isWellFormed(k)) throw new DecodeError(`${what}: key ${JSON.stringify(k)} is not well-formed Unicode`)
      }
      for (const k of keys) walk((x as Record<string, unknown>)[k], depth + 1)
      return
    }
    throw new DecodeError(`${what}: not a JSON value`)
  }
  walk(v, 0)
  return v
}
