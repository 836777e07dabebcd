import type { Message, Request } from '@vigil/consensus'
import type { SyncRequest } from './sync/protocol.js'

/**
 * TESTS ONLY: the hooks through which a Byzantine-validator harness (test/src/byzantine-peer.ts)
 * makes a peer that runs the real node code misbehave. Only code that constructs a VigilNode
 * can pass them; no config key, environment variable or CLI flag reaches them, and an honest
 * peer has none.
 */
export interface Misbehaviour {
  /**
   * Every consensus message the core asks to send: what goes out instead, to whom (rewritten,
   * duplicated or, with an empty list, dropped). Messages are sent as returned, in order.
   */
  outgoing?(to: number | 'all', msg: Message): Array<{ to: number | 'all'; msg: Message }>
  /** A client request about to reach the consensus core: false keeps it out, so this peer never proposes it. */
  admitRequest?(r: Request): boolean
  /** A block-sync request from validator `from`: the answer to send instead, or undefined for the honest one. */
  serveSync?(from: number, req: SyncRequest): Promise<Uint8Array | undefined>
}
