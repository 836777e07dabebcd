import { MAX_KEY_LENGTH } from '@vigil/common'
import { method, type Contract, type QueryContext } from '../contract.js'
import { ExecError, ResultCode } from '../errors.js'
import { object } from '../schemas.js'

/**
 * `kv`: one JSON value per key. Counters (`add`) are integers in the safe-integer range
 * (|n| <= 2^53 - 1), exact in every JavaScript engine; anything outside fails with ARITHMETIC.
 * Values that must hold larger or fractional amounts belong in decimal strings set by `put`.
 */

// maxLength counts code points; the overlay enforces MAX_KEY_LENGTH in UTF-16 units (BAD_ARGS).
const KEY = { type: 'string', minLength: 1, maxLength: MAX_KEY_LENGTH }
const SAFE_INTEGER = { type: 'integer', minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }
const MAX_INIT_VALUES = 100

interface KeyArgs {
  key: string
}

/** Prefetch hint of the methods that read their key. */
const keyRead = (a: Record<string, unknown>): string[] => (typeof a.key === 'string' ? [a.key] : [])

export const kv: Contract = {
  name: 'kv',
  summary: 'Key-value store: any JSON value per key, and exact integer counters.',
  init: method<{ values: Record<string, unknown> }>({
    summary: 'Initial values, by key.',
    args: object({ values: { type: 'object', maxProperties: MAX_INIT_VALUES, propertyNames: KEY } }),
    records: 'all',
    run: async ({ state }, { values }) => {
      // Insertion order is irrelevant: the overlay sorts the write set.
      for (const [key, value] of Object.entries(values)) state.put(key, value)
      return null
    },
  }),
  methods: {
    put: method<{ key: string; value: unknown }>({
      summary: 'Sets key to any JSON value.',
      args: object({ key: KEY, value: {} }),
      run: async ({ state }, { key, value }) => {
        state.put(key, value)
        return null
      },
    }),
    delete: method<KeyArgs>({
      summary: 'Removes key; returns whether it held a value.',
      args: object({ key: KEY }),
      reads: keyRead,
      run: async ({ state }, { key }) => {
        if ((await state.get(key)) === undefined) return false
        state.delete(key)
        return true
      },
    }),
    add: method<{ key: string; delta: number }>({
      summary: 'Adds an integer to the integer at key (absent counts as 0); returns the sum.',
      args: object({ key: KEY, delta: SAFE_INTEGER }),
      reads: keyRead,
      run: async ({ state }, { key, delta }) => {
        const stored = await state.get(key)
        const current = stored === undefined ? 0 : stored
        if (typeof current !== 'number' || !Number.isSafeInteger(current)) throw new ExecError(ResultCode.ARITHMETIC, `value at "${key}" is not a safe integer`)
        // Both operands are safe integers, so the sum is exact whenever it is itself safe.
        const sum = current + delta
        if (!Number.isSafeInteger(sum)) throw new ExecError(ResultCode.ARITHMETIC, `${current} + ${delta} is outside the safe-integer range`)
        state.put(key, sum)
        return sum
      },
    }),
  },
  queries: {
    get: method<KeyArgs, QueryContext>({
      summary: 'The value at key, or null.',
      args: object({ key: KEY }),
      run: async ({ state }, { key }) => (await state.get(key)) ?? null,
    }),
  },
}
