import { VigilError } from '@vigil/common'

/**
 * Result codes of a transaction (TxResult.code). They are part of the results root, so a
 * value, once used on a chain, never changes meaning; new codes are only ever appended.
 */
export const ResultCode = {
  OK: 0,
  /** Arguments of the wrong shape for the method, or invalid in context (e.g. a key too long). */
  BAD_ARGS: 1,
  /** Bad signature or wrong chain, or the signer may not do this (not an admin, not the patient). */
  UNAUTHORIZED: 2,
  /** Unknown instance, method or record. */
  NOT_FOUND: 3,
  /** Conflicts with the state: replayed nonce, name or patient already taken, limit reached. */
  CONFLICT: 4,
  /** A record payload (profile, sleep-diary entry, deploy init) fails its JSON Schema. */
  SCHEMA: 5,
  /** Arithmetic on a value that is not an integer, or a result outside the safe-integer range. */
  ARITHMETIC: 6,
} as const
export type ResultCode = (typeof ResultCode)[keyof typeof ResultCode]

/** Name of a code, for logs, HTTP errors and the CLI. */
export function resultCodeName(code: number): string {
  return Object.entries(ResultCode).find(([, v]) => v === code)?.[0] ?? `CODE_${code}`
}

/**
 * A deterministic failure of a transaction or query: becomes a TxResult with this code, or a
 * QueryError. Anything else thrown during execution (a storage I/O error, corrupted state, a
 * bug) is not deterministic across peers and propagates out of executeBlock instead.
 */
export class ExecError extends Error {
  readonly code: Exclude<ResultCode, 0>
  constructor(code: Exclude<ResultCode, 0>, message: string) {
    super(message)
    this.code = code
    this.name = 'ExecError'
  }
}

/** A query that cannot be answered; `status` is the HTTP status the API should reply with. */
export class QueryError extends VigilError {
  readonly status: 400 | 404
  constructor(cause: ExecError) {
    super(resultCodeName(cause.code), cause.message)
    this.name = 'QueryError'
    this.status = cause.code === ResultCode.NOT_FOUND ? 404 : 400
  }
}
