/** How commands print: plain text for people, --json for scripts; errors to stderr with an exit code. */
export function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v, null, 2) + '\n')
}

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))]
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)))
  return cells.map((r) => r.map((v, c) => (v ?? '').padEnd(widths[c]!)).join('  ').trimEnd()).join('\n')
}

/** The exit code when verification found damage: a proof rejected, a ledger or peers that disagree. */
export const DAMAGED = 2

/** Exit codes: 1 usage or runtime error, 2 verification found damage. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message)
    this.name = 'CliError'
  }
}

export function parseJsonArg(text: string, flag: string): Record<string, unknown> {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch (err) {
    throw new CliError(`${flag}: not valid JSON (${(err as Error).message})`)
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CliError(`${flag}: must be a JSON object of named arguments, e.g. '{"key":"a","value":1}'`)
  return v as Record<string, unknown>
}
