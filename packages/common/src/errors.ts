/**
 * One error class per kind of failure, each with a stable `name` and `code`, so callers
 * (HTTP API, CLI, peers) can report what is wrong without parsing messages.
 */
export class VigilError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.code = code
    this.name = 'VigilError'
  }
}

/** Bytes that are not a valid encoding of the expected structure (malformed, oversized, non-canonical). */
export class DecodeError extends VigilError {
  constructor(message: string) {
    super('DECODE', message)
    this.name = 'DecodeError'
  }
}

/** A structure that decodes but breaks a rule (bad signature, wrong chain, broken link). */
export class ValidationError extends VigilError {
  constructor(message: string) {
    super('INVALID', message)
    this.name = 'ValidationError'
  }
}
