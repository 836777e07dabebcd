import { pino, type DestinationStream, type Logger } from 'pino'

export type { Logger }

/**
 * Structured JSON logs, one object per line, for machines. The CLI passes a pino-pretty
 * stream as `dest` when it runs on a terminal.
 */
export function createLogger(level: string, bindings: Record<string, unknown> = {}, dest?: DestinationStream): Logger {
  const opts = { level, base: { pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.isoTime }
  return dest === undefined ? pino(opts) : pino(opts, dest)
}
