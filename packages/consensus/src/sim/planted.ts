import { sha256 } from '@vigil/common'
import type { Message } from '../messages.js'
import type { Batch, Request } from '../types.js'

/** How much of a simulated request (client, nonce and MAC) the old rule's id covered: the rest, like a signature, was left out. */
const PARTIAL_ID_BYTES = 17

/** TESTS ONLY: the old rule, under which a request's id hashed only part of its bytes. */
export function partialRequestOf(payload: Uint8Array): Request {
  return { id: sha256(payload.subarray(0, PARTIAL_ID_BYTES)), payload }
}

const rekey = (b: Batch): Batch => (b.requests.length === 0 ? b : { ...b, requests: b.requests.map((r) => partialRequestOf(r.payload)) })

/** TESTS ONLY: a decoded message with every request id derived again by the old rule. */
export function withPartialRequestIds(m: Message): Message {
  switch (m.type) {
    case 'preprepare':
    case 'committed':
    case 'batch':
      return { ...m, batch: rekey(m.batch) }
    default:
      return m
  }
}
