import { MAX_TX_BYTES, decodeTxList, encodeTxList } from '@vigil/common'

/**
 * Transactions travel between validators in batched frames (one CBOR array of encoded
 * transactions), not one message each: gossip of single messages was measured near 1,000
 * msg/s between 4 peers here, far below what PBFT batching can order.
 */
export const GOSSIP_MAX_TXS = 512
export const GOSSIP_MAX_FRAME_BYTES = 4 * 1024 * 1024

export const encodeGossip = encodeTxList

export function decodeGossip(frame: Uint8Array): Uint8Array[] {
  return decodeTxList(frame, { maxTxs: GOSSIP_MAX_TXS, maxBytes: GOSSIP_MAX_FRAME_BYTES }, 'mempool frame')
}

/** Collects transactions to forward and flushes them as one frame when full or after a short delay. */
export class GossipBatcher {
  #pending: Uint8Array[] = []
  #bytes = 0
  #timer: NodeJS.Timeout | null = null

  constructor(
    private readonly flush: (frame: Uint8Array) => void,
    private readonly delayMs = 2,
  ) {}

  push(txBytes: Uint8Array): void {
    this.#pending.push(txBytes)
    this.#bytes += txBytes.byteLength
    if (this.#pending.length >= GOSSIP_MAX_TXS || this.#bytes >= GOSSIP_MAX_FRAME_BYTES - MAX_TX_BYTES - 16) this.drain()
    else this.#timer ??= setTimeout(() => this.drain(), this.delayMs)
  }

  drain(): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    if (this.#pending.length === 0) return
    const frame = encodeGossip(this.#pending)
    this.#pending = []
    this.#bytes = 0
    this.flush(frame)
  }
}

/**
 * At most this many pending transactions, oldest first, are offered to a validator when it
 * (re)connects: the oldest are what its request timer waits on first, and the rest reach it in
 * the primary's PRE-PREPAREs, which its core learns from as well.
 */
export const OFFER_MAX_TXS = 16 * GOSSIP_MAX_TXS

/**
 * Offers pending transactions to one validator that just connected: it missed their gossip while
 * it was away, and a replica that never hears of a pending transaction never times out on it
 * (docs/design.md, "What each timer guarantees"). Returns how many were offered.
 */
export function offerPending(pending: Iterable<Uint8Array>, send: (frame: Uint8Array) => void): number {
  const batcher = new GossipBatcher(send)
  let offered = 0
  for (const bytes of pending) {
    if (offered === OFFER_MAX_TXS) break
    batcher.push(bytes)
    offered++
  }
  batcher.drain()
  return offered
}
