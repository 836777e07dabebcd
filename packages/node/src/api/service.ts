import { VigilError } from '@vigil/common'

/** What the HTTP API needs from a peer; the daemon implements it, so the API knows nothing of its internals. */
export interface LedgerService {
  status(): Promise<unknown>
  readiness(): { ready: boolean; reason: string }
  /**
   * Validates and admits signed transactions (raw canonical CBOR) to the mempool, each on its own.
   * With waitMs, each admitted one's `commit` settles once it is committed on this peer (null on timeout).
   */
  submit(list: readonly Uint8Array[], waitMs: number | null): Promise<Submitted[]>
  tx(txId: string): Promise<unknown | null>
  block(height: number): Promise<unknown | null>
  blocks(from: number, limit: number): Promise<unknown[]>
  state(instance: string, key: string, withProof: boolean): Promise<unknown | null>
  history(instance: string, key: string, limit: number, afterHeight: number | undefined): Promise<unknown>
  query(instance: string, method: string, args: Record<string, unknown>): Promise<unknown>
  metrics(): Promise<{ contentType: string; body: string }>
}

/** One submitted transaction: its id (and commit, when waited for), or why it was refused. */
export type Submitted = { txId: string; commit: Promise<unknown | null> | null } | { error: unknown }

/** An error with the HTTP status it should be answered with. */
export class ApiError extends VigilError {
  readonly status: number
  constructor(status: number, code: string, message: string) {
    super(code, message)
    this.status = status
    this.name = 'ApiError'
  }
}
