import { VigilError } from '@vigil/common'

/** What the HTTP API needs from a peer; the daemon implements it, so the API knows nothing of its internals. */
export interface LedgerService {
  status(): Promise<unknown>
  readiness(): { ready: boolean; reason: string }
  /** Validates and admits a signed transaction (raw canonical CBOR) to the mempool. */
  submit(bytes: Uint8Array): Promise<{ txId: string }>
  /** Resolves once the transaction is committed on this peer, null on timeout. */
  waitForCommit(txId: string, timeoutMs: number): Promise<unknown | null>
  tx(txId: string): Promise<unknown | null>
  block(height: number): Promise<unknown | null>
  blocks(from: number, limit: number): Promise<unknown[]>
  state(instance: string, key: string, withProof: boolean): Promise<unknown | null>
  history(instance: string, key: string, limit: number, afterHeight: number | undefined): Promise<unknown>
  query(instance: string, method: string, args: Record<string, unknown>): Promise<unknown>
  metrics(): Promise<{ contentType: string; body: string }>
}

/** An error with the HTTP status it should be answered with. */
export class ApiError extends VigilError {
  readonly status: number
  constructor(status: number, code: string, message: string) {
    super(code, message)
    this.status = status
    this.name = 'ApiError'
  }
}
