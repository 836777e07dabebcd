/**
 * Validator-to-validator networking over libp2p (TCP + Noise + Yamux), closed to everyone outside
 * the genesis validator set. The node uses {@link PeerLinks}: channels for PBFT and mempool frames,
 * request/response for block sync.
 *
 * ```ts
 * const links = new PeerLinks({ keyPair, listen: ['/ip4/0.0.0.0/tcp/26656'], validators, self, logger })
 * const pbft = links.channel('/vigil/pbft/2', { maxFrameBytes: 1 << 20, queueMax: 4096 })
 * pbft.onFrame((from, frame) => loop.enqueue(from, frame))
 * links.handle('/vigil/sync/2', (from, req) => serveBlocks(req), { maxRequestBytes: 1024 })
 * await links.start()
 * ```
 */
import './polyfill.js'

export { PeerLinks, type PeerLinksOptions, type PeerListener, type LinkCounters, type Transport } from './links.js'
export type { Channel, ChannelOptions, ChannelCounters, DropReason, FrameHandler } from './channel.js'
export type { RequestOptions, HandleOptions, RequestHandler, RequestCounters } from './reqresp.js'
export { createHost, allowlistGater, validatorPeerIds, type Host, type HostOptions } from './host.js'
export { libp2pKeyFromSeed, peerIdFromPublicKey } from './identity.js'
export { FrameTooLargeError, MalformedFrameError, PeerNotConnectedError, RequestTimeoutError, StreamEndedError } from './errors.js'
export { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js'
