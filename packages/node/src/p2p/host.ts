import './polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { identify, type Identify } from '@libp2p/identify'
import { ping, type Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { equalBytes, ValidationError, type KeyPair, type ValidatorInfo } from '@vigil/common'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import { libp2pKeyFromSeed, peerIdFromPublicKey } from './identity.js'

export type Host = Libp2p<{ identify: Identify; ping: Ping }>

export interface HostOptions {
  keyPair: KeyPair
  /** Multiaddrs to listen on, e.g. `/ip4/0.0.0.0/tcp/26656`. */
  listen: string[]
  validators: readonly ValidatorInfo[]
  /** Our index in `validators`; its public key must be `keyPair.publicKey`. */
  self: number
  logger: Logger
}

/**
 * The peer ids of the validator set, derived from the public keys (the authority), after checking
 * each genesis `peerId` agrees: a typo there would otherwise lock a validator out silently.
 */
export function validatorPeerIds(validators: readonly ValidatorInfo[]): string[] {
  return validators.map((v, i) => {
    const derived = peerIdFromPublicKey(v.publicKey)
    if (v.peerId !== derived) throw new ValidationError(`validators[${i}].peerId ${v.peerId} does not match its public key (expected ${derived})`)
    return derived
  })
}

/** Refuses, in both directions, every peer whose id is not in `allowed` (checked after Noise authenticates it). */
export function allowlistGater(allowed: ReadonlySet<string>): ConnectionGater {
  const deny = (peer: PeerId): boolean => !allowed.has(peer.toString())
  return {
    denyDialPeer: deny,
    denyInboundEncryptedConnection: deny,
    denyOutboundEncryptedConnection: deny,
  }
}

/**
 * A libp2p node for validator-to-validator links only: TCP, Noise, Yamux, identify, ping, and a gater
 * that admits only genesis validators. No discovery, DHT or bootstrap: it dials only what PeerLinks
 * tells it to (the validators' configured addresses). Returned unstarted, so protocol handlers can be
 * registered before the first peer can open a stream.
 */
export async function createHost(opts: HostOptions): Promise<Host> {
  const { keyPair, validators, self } = opts
  const me = validators[self]
  if (me === undefined) throw new ValidationError(`self index ${self} is not in the validator set (size ${validators.length})`)
  const peerIds = validatorPeerIds(validators)
  if (!equalBytes(keyPair.publicKey, me.publicKey)) throw new ValidationError(`our key is not validator ${self}'s key (${me.name})`)
  const n = validators.length
  opts.logger.debug({ listen: opts.listen, peerId: peerIds[self] }, 'p2p host created')
  return createLibp2p({
    start: false,
    privateKey: libp2pKeyFromSeed(keyPair),
    addresses: { listen: opts.listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: allowlistGater(new Set(peerIds)),
    connectionManager: {
      // A few connections per validator (simultaneous dials, restarts) and nothing else.
      maxConnections: 4 * n + 8,
      maxIncomingPendingConnections: 2 * n + 4,
      // Validators may share a host (testnets) and redial after restarts: do not throttle them to 5/s.
      inboundConnectionThreshold: 4 * n + 8,
      // PeerLinks owns reconnection.
      reconnectRetries: 0,
      dialTimeout: 5_000,
    },
    services: { identify: identify(), ping: ping() },
  })
}
