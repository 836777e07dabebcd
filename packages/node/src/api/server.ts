import Fastify, { type FastifyError, type FastifyInstance } from 'fastify'
import { DecodeError, ValidationError, decodeTxList, fromHex } from '@vigil/common'
import type { Logger } from '../log.js'
import { openApiDocument } from './openapi.js'
import { ApiError, type LedgerService, type Submitted } from './service.js'

export interface ApiOptions {
  host: string
  port: number
  maxBodyBytes: number
  commitWaitMs: number
  logger: Logger
}

const HEX64 = '^[0-9a-f]{64}$'
const MAX_BATCH_TXS = 2000
const MAX_BATCH_BODY_BYTES = 32 * 1024 * 1024
const NAME = '^[A-Za-z_][A-Za-z0-9_.-]{0,63}$'

function errorStatus(err: unknown): { status: number; code: string; message: string } {
  if (err instanceof ApiError) return { status: err.status, code: err.code, message: err.message }
  if (err instanceof DecodeError || err instanceof ValidationError) return { status: 400, code: err.code, message: err.message }
  const fe = err as FastifyError
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return { status: fe.statusCode, code: fe.code ?? 'BAD_REQUEST', message: fe.message }
  return { status: 500, code: 'INTERNAL', message: 'internal error' }
}

/** The JSON HTTP API of one peer (see openapi.ts for the document served at /v1/openapi.json). */
export async function startApi(svc: LedgerService, opts: ApiOptions): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify({ bodyLimit: opts.maxBodyBytes, logger: false, return503OnClosing: true })
  // No parser-level bodyLimit: it would override each route's (the app's default, or the batch route's larger one).
  app.addContentTypeParser(['application/cbor', 'application/octet-stream'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body))

  app.setErrorHandler((err, req, reply) => {
    const e = errorStatus(err)
    if (e.status >= 500) opts.logger.error({ err, url: req.url }, 'API request failed')
    void reply.status(e.status).send({ error: { code: e.code, message: e.message } })
  })
  app.setNotFoundHandler((req, reply) => void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url}` } }))

  const notFound = (what: string) => new ApiError(404, 'NOT_FOUND', `${what} not found`)

  app.get('/healthz', async () => ({ ok: true }))
  app.get('/readyz', async (_req, reply) => {
    const r = svc.readiness()
    return reply.status(r.ready ? 200 : 503).send(r)
  })
  app.get('/metrics', async (_req, reply) => {
    const m = await svc.metrics()
    return reply.type(m.contentType).send(m.body)
  })
  app.get('/v1/openapi.json', async () => openApiDocument)
  app.get('/v1/status', async () => svc.status())

  app.post(
    '/v1/tx',
    { schema: { querystring: { type: 'object', additionalProperties: false, properties: { wait: { enum: ['commit', 'none'] } } } } },
    async (req, reply) => {
      const wait = (req.query as { wait?: string }).wait === 'commit'
      const [r] = await svc.submit([txBytesFrom(req.body)], wait ? opts.commitWaitMs : null)
      if ('error' in r!) throw r.error
      const { txId, commit } = r!
      if (commit === null) return reply.status(202).send({ txId })
      const done = await commit
      if (done === null) throw new ApiError(504, 'COMMIT_TIMEOUT', `transaction ${txId} not committed within ${opts.commitWaitMs} ms (it may still commit: GET /v1/tx/${txId})`)
      return done
    },
  )

  // Many transactions per request (load generators, apps syncing a backlog): each is admitted
  // or refused on its own; with wait=commit the answer comes once every admitted one committed.
  // JSON {txs: [hex]} or application/cbor (an array of encoded transactions: half the bytes, no hex).
  app.post(
    '/v1/txs',
    {
      bodyLimit: MAX_BATCH_BODY_BYTES,
      schema: {
        querystring: { type: 'object', additionalProperties: false, properties: { wait: { enum: ['commit', 'none'] } } },
        body: {
          content: {
            'application/json': { schema: { type: 'object', required: ['txs'], additionalProperties: false, properties: { txs: { type: 'array', minItems: 1, maxItems: MAX_BATCH_TXS, items: { type: 'string' } } } } },
            // Checked by decodeTxList in the handler.
            'application/cbor': { schema: {} },
          },
        },
      },
    },
    async (req) => {
      const wait = (req.query as { wait?: string }).wait === 'commit'
      const list: Uint8Array[] = []
      const refused = new Map<number, unknown>()
      let count: number
      if (req.body instanceof Uint8Array) {
        // application/cbor: one CBOR array of encoded transactions (no hex, no JSON).
        list.push(...decodeTxList(req.body, { maxTxs: MAX_BATCH_TXS, maxBytes: MAX_BATCH_BODY_BYTES }, 'transaction list'))
        count = list.length
      } else {
        const hexes = (req.body as { txs?: unknown } | null)?.txs
        if (!Array.isArray(hexes)) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json {"txs": ["<hex>", ...]} or application/cbor (an array of encoded transactions)')
        hexes.forEach((hex, i) => {
          try {
            list.push(txBytesFrom({ tx: hex }))
          } catch (err) {
            refused.set(i, err)
          }
        })
        count = hexes.length
      }
      const submitted = await svc.submit(list, wait ? opts.commitWaitMs : null)
      let j = 0
      const results = await Promise.all(
        Array.from({ length: count }, async (_, i): Promise<Record<string, unknown>> => {
          const r: Submitted = refused.has(i) ? { error: refused.get(i) } : submitted[j++]!
          if ('error' in r) {
            const e = errorStatus(r.error)
            return { error: { code: e.code, message: e.message } }
          }
          if (r.commit === null) return { txId: r.txId }
          return ((await r.commit) as Record<string, unknown> | null) ?? { txId: r.txId, error: { code: 'COMMIT_TIMEOUT', message: `not committed within ${opts.commitWaitMs} ms` } }
        }),
      )
      return { results }
    },
  )

  app.get('/v1/tx/:id', { schema: { params: { type: 'object', properties: { id: { type: 'string', pattern: HEX64 } } } } }, async (req) => {
    const r = await svc.tx((req.params as { id: string }).id)
    if (r === null) throw notFound('transaction')
    return r
  })

  app.get('/v1/blocks/:height', { schema: { params: { type: 'object', properties: { height: { type: 'integer', minimum: 0 } } } } }, async (req) => {
    const b = await svc.block((req.params as { height: number }).height)
    if (b === null) throw notFound('block')
    return b
  })

  app.get(
    '/v1/blocks',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { from: { type: 'integer', minimum: 0, default: 0 }, limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
        },
      },
    },
    async (req) => {
      const q = req.query as { from: number; limit: number }
      return { blocks: await svc.blocks(q.from, q.limit) }
    },
  )

  const stateParams = { type: 'object', properties: { instance: { type: 'string', pattern: NAME }, key: { type: 'string', minLength: 1, maxLength: 256 } } }
  app.get(
    '/v1/state/:instance/:key',
    { schema: { params: stateParams, querystring: { type: 'object', additionalProperties: false, properties: { proof: { type: 'boolean', default: false } } } } },
    async (req) => {
      const p = req.params as { instance: string; key: string }
      const r = await svc.state(p.instance, p.key, (req.query as { proof: boolean }).proof)
      if (r === null) throw notFound(`key "${p.key}" in instance "${p.instance}"`)
      return r
    },
  )
  app.get(
    '/v1/state/:instance/:key/history',
    {
      schema: {
        params: stateParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, afterHeight: { type: 'integer', minimum: 0 } },
        },
      },
    },
    async (req) => {
      const p = req.params as { instance: string; key: string }
      const q = req.query as { limit: number; afterHeight?: number }
      return svc.history(p.instance, p.key, q.limit, q.afterHeight)
    },
  )

  app.post(
    '/v1/query/:instance/:method',
    {
      schema: {
        params: { type: 'object', properties: { instance: { type: 'string', pattern: NAME }, method: { type: 'string', pattern: NAME } } },
        body: { type: 'object' },
      },
    },
    async (req) => {
      const p = req.params as { instance: string; method: string }
      return svc.query(p.instance, p.method, (req.body ?? {}) as Record<string, unknown>)
    },
  )

  const address = await app.listen({ host: opts.host, port: opts.port })
  return { app, url: address }
}

/** A transaction arrives as raw CBOR (application/cbor) or as JSON {"tx": "<hex>"}. */
function txBytesFrom(body: unknown): Uint8Array {
  if (body instanceof Uint8Array) return new Uint8Array(body)
  const hex = (body as { tx?: unknown } | null)?.tx
  if (typeof hex !== 'string') throw new ApiError(400, 'BAD_REQUEST', 'body must be {"tx": "<hex of the signed transaction>"} or raw application/cbor bytes')
  try {
    return fromHex(hex, 'tx')
  } catch (err) {
    throw new ApiError(400, 'BAD_REQUEST', (err as Error).message)
  }
}
