import { Ajv, type ErrorObject, type SchemaObject } from 'ajv'
import formats from 'ajv-formats'
import { ExecError, ResultCode } from './errors.js'

/**
 * JSON Schema validation of method arguments. Ajv compiles each schema once, when the
 * contract modules load; validation is pure (no clock, no randomness). Strict mode refuses
 * ambiguous schemas, and the options that would change the data (defaults, coercion,
 * removing properties) stay off, so a contract sees exactly the signed arguments.
 * Ajv is pinned by the lockfile: its first-error order is part of consensus.
 */
const ajv = new Ajv({ strict: true, allErrors: false, useDefaults: false, coerceTypes: false, removeAdditional: false })
// Only the formats in use; "date" checks the calendar (leap years) with arithmetic, no Date.
formats.default(ajv, ['date'])

/** Arguments are either shaped wrongly (BAD_ARGS) or carry a record that fails its schema (SCHEMA). */
export type RecordFields = readonly string[] | 'all'

/** Returns the arguments typed when they match, throws an ExecError naming the first violation. */
export type ArgsCheck<A> = (args: unknown) => A

export function compileArgs<A>(schema: SchemaObject, records: RecordFields = []): ArgsCheck<A> {
  const validate = ajv.compile<A>(schema)
  return (args) => {
    if (validate(args)) return args
    const err = validate.errors?.[0]
    if (err === undefined) throw new Error('ajv reported failure without an error')
    const field = err.instancePath.split('/')[1]
    const inRecord = records === 'all' || (field !== undefined && records.includes(field))
    throw new ExecError(inRecord ? ResultCode.SCHEMA : ResultCode.BAD_ARGS, describeError(err))
  }
}

// Messages are built from the keyword and one chosen parameter rather than ajv's English text,
// so the error strings in results (hashed into the results root) do not depend on ajv's wording.
const DETAIL: Readonly<Record<string, string>> = {
  required: 'missingProperty',
  additionalProperties: 'additionalProperty',
  type: 'type',
  format: 'format',
  pattern: 'pattern',
  enum: 'allowedValues',
  minimum: 'limit',
  maximum: 'limit',
  minLength: 'limit',
  maxLength: 'limit',
  maxProperties: 'limit',
}

function describeError(err: ErrorObject): string {
  const path = 'args' + err.instancePath.replaceAll('/', '.')
  const param = Object.hasOwn(DETAIL, err.keyword) ? (err.params as Record<string, unknown>)[DETAIL[err.keyword]!] : undefined
  const detail = Array.isArray(param) ? param.join('|') : param === undefined ? '' : String(param)
  return `${path}: violates ${err.keyword}${detail === '' ? '' : ` (${detail})`}`
}

/** Shorthand for the closed objects every argument list is. */
export function object(properties: Record<string, SchemaObject>, required: readonly string[] = Object.keys(properties)): SchemaObject {
  return { type: 'object', additionalProperties: false, required: [...required], properties }
}

export const PUBLIC_KEY_HEX: SchemaObject = { type: 'string', pattern: '^[0-9a-f]{64}$' }

// ---- mhealth records ---------------------------------------------------------------------
// Everything here is replicated to every validator and kept for ever, so the records carry
// pseudonyms and study data only: no names, contact details, or free-form identifiers.

/** A pseudonymous study code (e.g. "P-0042"); never a name or a national identifier. */
export const PATIENT_ID: SchemaObject = { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' }

export const PATIENT_PROFILE: SchemaObject = object(
  {
    studyArm: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,32}$' },
    yearOfBirth: { type: 'integer', minimum: 1900, maximum: 2100 },
  },
  ['studyArm'],
)

const CLOCK_TIME: SchemaObject = { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' }
const MINUTES: SchemaObject = { type: 'integer', minimum: 0, maximum: 1440 }

/** One night of a consensus sleep diary, as kept in CBT for insomnia. */
export const SLEEP_DIARY_ENTRY: SchemaObject = object(
  {
    date: { type: 'string', format: 'date', maxLength: 10 },
    bedTime: CLOCK_TIME,
    sleepOnsetLatencyMin: MINUTES,
    wakeAfterSleepOnsetMin: MINUTES,
    wakeTime: CLOCK_TIME,
    riseTime: CLOCK_TIME,
    sleepQuality: { type: 'integer', minimum: 1, maximum: 5 },
    notes: { type: 'string', maxLength: 280 },
  },
  ['date', 'bedTime', 'sleepOnsetLatencyMin', 'wakeAfterSleepOnsetMin', 'wakeTime', 'riseTime', 'sleepQuality'],
)
