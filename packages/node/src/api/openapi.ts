/** OpenAPI 3.1 description of the peer's HTTP API, served at GET /v1/openapi.json. */
const json = (description: string) => ({ description, content: { 'application/json': { schema: { type: 'object' } } } })
const err = json('Error: {"error": {"code", "message"}}')
const hexId = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{64}$' } }
const instance = { name: 'instance', in: 'path', required: true, schema: { type: 'string' } }
const key = { name: 'key', in: 'path', required: true, schema: { type: 'string' } }

export const openApiDocument = {
  openapi: '3.1.0',
  info: { title: 'Vigil validating peer API', version: '1', description: 'Submit signed transactions, read blocks and world state with Merkle proofs.' },
  paths: {
    '/healthz': { get: { summary: 'Process is alive', responses: { 200: json('{"ok": true}') } } },
    '/readyz': { get: { summary: 'Connected to a quorum and not catching up with peers', responses: { 200: json('ready'), 503: json('not ready, with reason') } } },
    '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'text exposition format' } } } },
    '/v1/status': { get: { summary: 'Chain id, this peer, height, last block hash, state root, view, primary, consensus bookkeeping (watermark, stable checkpoint, log entries, pending requests), sync state, mempool, peers', responses: { 200: json('status') } } },
    '/v1/tx': {
      post: {
        summary: 'Submit a signed transaction',
        parameters: [{ name: 'wait', in: 'query', schema: { enum: ['commit', 'none'] } }],
        requestBody: {
          content: {
            'application/json': { schema: { type: 'object', required: ['tx'], properties: { tx: { type: 'string', description: 'hex of the canonical CBOR transaction' } } } },
            'application/cbor': { schema: { type: 'string', format: 'binary' } },
          },
        },
        responses: { 200: json('{txId, height, index, result} when wait=commit'), 202: json('{txId}'), 400: err, 503: err, 504: err },
      },
    },
    '/v1/txs': {
      post: {
        summary: 'Submit up to 2000 signed transactions at once; each is admitted or refused on its own',
        parameters: [{ name: 'wait', in: 'query', schema: { enum: ['commit', 'none'] } }],
        requestBody: {
          content: {
            'application/json': { schema: { type: 'object', required: ['txs'], properties: { txs: { type: 'array', items: { type: 'string' } } } } },
            'application/cbor': { schema: { type: 'string', format: 'binary', description: 'a CBOR array of byte strings, each an encoded signed transaction' } },
          },
        },
        responses: { 200: json('{results: [{txId, height?, index?, result?} | {error}]} in request order'), 400: err },
      },
    },
    '/v1/tx/{id}': { get: { summary: 'A committed transaction with its block height, position and result', parameters: [hexId], responses: { 200: json('transaction'), 404: err } } },
    '/v1/blocks/{height}': {
      get: { summary: 'A block with its commit certificate', parameters: [{ name: 'height', in: 'path', required: true, schema: { type: 'integer' } }], responses: { 200: json('block'), 404: err } },
    },
    '/v1/blocks': {
      get: {
        summary: 'A range of blocks',
        parameters: [
          { name: 'from', in: 'query', schema: { type: 'integer', minimum: 0 } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100 } },
        ],
        responses: { 200: json('{blocks: [...]}') },
      },
    },
    '/v1/state/{instance}/{key}': {
      get: {
        summary: 'Committed value of a key: {value, version, height}; with proof=true also the Merkle proof, the block header and the certificate it is proven against',
        parameters: [instance, key, { name: 'proof', in: 'query', schema: { type: 'boolean' } }],
        responses: { 200: json('value'), 404: err },
      },
    },
    '/v1/state/{instance}/{key}/history': {
      get: { summary: 'Every version of a key, oldest first', parameters: [instance, key], responses: { 200: json('{versions: [...]}') } },
    },
    '/v1/query/{instance}/{method}': {
      post: {
        summary: 'Run a read-only contract method on committed state: {value, height}',
        parameters: [instance, { name: 'method', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: { content: { 'application/json': { schema: { type: 'object', description: 'named arguments' } } } },
        responses: { 200: json('{value, height}'), 400: err, 404: err },
      },
    },
  },
} as const
