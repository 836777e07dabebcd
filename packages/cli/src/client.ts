import { ValidationError } from '@vigil/common'

/** A small JSON client for one peer's HTTP API; errors carry the peer's message. */
export class ApiClient {
  readonly base: string
  readonly timeoutMs: number
  constructor(url: string, timeoutMs = 30_000) {
    let u: URL
    try {
      u = new URL(url)
    } catch {
      throw new ValidationError(`--node: "${url}" is not a URL (e.g. http://127.0.0.1:8700)`)
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ValidationError(`--node: "${url}" must be http:// or https://`)
    this.base = u.toString().replace(/\/$/, '')
    this.timeoutMs = timeoutMs
  }

  /** JSON in and out; a Uint8Array body goes as application/cbor. */
  async request<T = unknown>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let res: Response
    const cbor = body instanceof Uint8Array
    try {
      res = await fetch(this.base + path, {
        method,
        headers: body === undefined ? {} : { 'content-type': cbor ? 'application/cbor' : 'application/json' },
        body: body === undefined ? undefined : cbor ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      })
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause
      throw new ApiRequestError(0, 'UNREACHABLE', `${this.base}: ${cause?.code ?? cause?.message ?? (err as Error).message}`)
    }
    const text = await res.text()
    let json: unknown = null
    try {
      json = text === '' ? null : JSON.parse(text)
    } catch {
      throw new ApiRequestError(res.status, 'BAD_RESPONSE', `${this.base}${path}: answered HTTP ${res.status} with non-JSON`)
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: string; message?: string } } | null)?.error
      throw new ApiRequestError(res.status, e?.code ?? 'HTTP_' + res.status, e?.message ?? JSON.stringify(json))
    }
    return json as T
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>('GET', path)
  }

  post<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body)
  }
}

export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'ApiRequestError'
  }
}
