import { setTimeout as sleep } from 'node:timers/promises'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { ValidationError } from '@vigil/common'
import type { Connection, PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js'
import { ChannelImpl, MAX_CHANNEL_STREAMS, type Channel, type ChannelCounters, type ChannelOptions, type LinkContext } from './channel.js'
import { createHost, validatorPeerIds, type Host, type HostOptions } from './host.js'
import {
  DEFAULT_MAX_CONCURRENT_REQUESTS,
  newRequestCounters,
  request,
  serveRequests,
  type HandleOptions,
  type RequestCounters,
  type RequestHandler,
  type RequestOptions,
} from './reqresp.js'

export interface PeerLinksOptions extends HostOptions {
  /** Redial delay bounds; default 100 ms doubling to 5 s, with jitter. */
  backoff?: BackoffOptions
  /** Jitter source for redial and stream-retry delays; default Math.random. */
  random?: () => number
}

export type PeerListener = (peer: number, connected: boolean) => void

export interface LinkCounters {
  /** Per channel protocol. */
  channels: Record<string, ChannelCounters>
  requests: RequestCounters
  dials: { attempts: number; failures: number }
}

const DIAL_TIMEOUT_MS = 5_000

/** What the node needs from the network: PeerLinks, or a simulated network in tests. */
export interface Transport {
  readonly self: number
  readonly size: number
  channel(protocol: string, opts: ChannelOptions): Channel
  handle(protocol: string, handler: RequestHandler, opts: HandleOptions): void
  request(peer: number, protocol: string, body: Uint8Array, opts: RequestOptions): Promise<Uint8Array>
  onPeer(listener: PeerListener): () => void
  connectedPeers(): number[]
  counters(): LinkCounters
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * The node's transport to the other validators (the only libp2p user). It keeps a connection to every
 * validator by dialing its genesis addresses with capped, jittered exponential backoff (both sides dial,
 * so any start order works, and a restarted peer is found again at its address), and multiplexes
 * channels (one-way frame flows) and request/response protocols over it.
 *
 * Register channels and handlers before start(); start() opens the host, stop() closes everything.
 */
export class PeerLinks implements Transport {
  readonly self: number
  readonly size: number
  readonly #opts: PeerLinksOptions
  readonly #log: Logger
  readonly #random: () => number
  readonly #peerIds: string[]
  readonly #peerIdObjs: PeerId[]
  readonly #indexByPeerId: Map<string, number>
  readonly #dialAddrs: Multiaddr[][]
  readonly #channels = new Map<string, ChannelImpl>()
  readonly #handlers = new Map<string, { handler: RequestHandler; opts: HandleOptions }>()
  readonly #listeners = new Set<PeerListener>()
  readonly #connected = new Set<number>()
  /** Wakes a peer's dial loop when its last connection closes (or on stop). */
  readonly #wake = new Map<number, () => void>()
  readonly #requests = newRequestCounters()
  readonly #dials = { attempts: 0, failures: 0 }
  #host: Host | undefined
  #stop = new AbortController()
  #loops: Array<Promise<void>> = []

  constructor(opts: PeerLinksOptions) {
    this.#opts = opts
    this.self = opts.self
    this.size = opts.validators.length
    this.#log = opts.logger
    this.#random = opts.random ?? Math.random
    this.#peerIds = validatorPeerIds(opts.validators)
    this.#peerIdObjs = this.#peerIds.map((id) => peerIdFromString(id))
    this.#indexByPeerId = new Map(this.#peerIds.map((id, i) => [id, i]))
    this.#dialAddrs = opts.validators.map((v, i) =>
      v.addresses.map((a) => {
        let ma: Multiaddr
        try {
          ma = multiaddr(a)
        } catch (err) {
          throw new ValidationError(`validators[${i}].addresses: ${a}: ${(err as Error).message}`)
        }
        // Pinning the peer id makes the dial fail unless Noise proves the remote holds that key.
        return ma.getComponents().some((c) => c.name === 'p2p') ? ma : ma.encapsulate(`/p2p/${this.#peerIds[i]}`)
      }),
    )
  }

  /** Our libp2p peer id. */
  get peerId(): string {
    return this.#peerIds[this.self] as string
  }

  /** A one-way frame channel on `protocol` (e.g. `/vigil/pbft/2`). Call before start(). */
  channel(protocol: string, opts: ChannelOptions): Channel {
    this.#beforeStart(protocol)
    const ch = new ChannelImpl(this.#context(), protocol, opts)
    this.#channels.set(protocol, ch)
    return ch
  }

  /** Answers requests on `protocol` (e.g. `/vigil/sync/2`). Call before start(). */
  handle(protocol: string, handler: RequestHandler, opts: HandleOptions): void {
    this.#beforeStart(protocol)
    this.#handlers.set(protocol, { handler, opts })
  }

  /** One request to a connected validator; rejects with PeerNotConnectedError, RequestTimeoutError, FrameTooLargeError or a stream error. */
  async request(peer: number, protocol: string, body: Uint8Array, opts: RequestOptions): Promise<Uint8Array> {
    this.#checkPeer(peer)
    return request(this.#connection(peer), peer, protocol, body, opts, this.#stop.signal, this.#requests)
  }

  /** Called with (peer, true) when the first connection to a validator opens, (peer, false) when the last closes. Returns an unsubscribe function. */
  onPeer(listener: PeerListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Validators we have an open connection to, ascending. */
  connectedPeers(): number[] {
    return [...this.#connected].sort((a, b) => a - b)
  }

  isConnected(peer: number): boolean {
    return this.#connected.has(peer)
  }

  /** Addresses we listen on (with the real port when configured as tcp/0). */
  listenAddresses(): string[] {
    return this.#host?.getMultiaddrs().map((ma) => ma.toString()) ?? []
  }

  counters(): LinkCounters {
    const channels: Record<string, ChannelCounters> = {}
    for (const [protocol, ch] of this.#channels) channels[protocol] = ch.counters()
    return { channels, requests: { ...this.#requests }, dials: { ...this.#dials } }
  }

  async start(): Promise<void> {
    if (this.#host !== undefined) throw new Error('PeerLinks already started')
    this.#stop = new AbortController()
    const host = await createHost(this.#opts)
    this.#host = host
    try {
      await this.#startHost(host)
    } catch (err) {
      // E.g. the listen port is taken: leave nothing half-started behind.
      this.#host = undefined
      await host.stop()
      throw err
    }
    this.#log.info({ peerId: this.peerId, listen: this.listenAddresses() }, 'p2p started')
    this.#loops = this.#dialAddrs.flatMap((addrs, peer) => (peer === this.self || addrs.length === 0 ? [] : [this.#keepConnected(peer, addrs)]))
  }

  async #startHost(host: Host): Promise<void> {
    const peerIndex = (conn: Connection): number | undefined => this.#peerIndex(conn.remotePeer)
    for (const [protocol, ch] of this.#channels) {
      await host.handle(protocol, (stream, conn) => ch.handleInbound(stream, conn), {
        maxInboundStreams: MAX_CHANNEL_STREAMS,
        maxOutboundStreams: MAX_CHANNEL_STREAMS,
      })
    }
    for (const [protocol, { handler, opts }] of this.#handlers) {
      const max = opts.maxConcurrent ?? DEFAULT_MAX_CONCURRENT_REQUESTS
      await host.handle(protocol, serveRequests(protocol, handler, opts, peerIndex, this.#log, this.#requests), {
        maxInboundStreams: max,
        maxOutboundStreams: max,
      })
    }
    host.addEventListener('peer:connect', (evt) => this.#peerEvent(evt.detail, true))
    host.addEventListener('peer:disconnect', (evt) => this.#peerEvent(evt.detail, false))
    await host.start()
  }

  async stop(): Promise<void> {
    const host = this.#host
    if (host === undefined) return
    this.#stop.abort(new Error('p2p stopping'))
    for (const wake of this.#wake.values()) wake()
    await Promise.all(this.#loops)
    for (const ch of this.#channels.values()) ch.close()
    await host.stop()
    this.#host = undefined
    this.#loops = []
    for (const peer of this.#connected) this.#notify(peer, false)
    this.#connected.clear()
    this.#log.info('p2p stopped')
  }

  /** Redials `peer` whenever no connection to it is open, until stop(). */
  async #keepConnected(peer: number, addrs: Multiaddr[]): Promise<void> {
    const backoff = new Backoff(this.#opts.backoff ?? DEFAULT_BACKOFF, this.#random)
    const stop = this.#stop.signal
    while (!stop.aborted) {
      if (this.#connection(peer) === undefined) {
        this.#dials.attempts++
        try {
          await (this.#host as Host).dial(addrs, { signal: AbortSignal.any([stop, AbortSignal.timeout(DIAL_TIMEOUT_MS)]) })
          backoff.reset()
        } catch (err) {
          if (stop.aborted) return
          this.#dials.failures++
          const delayMs = backoff.next()
          this.#log.debug({ peer, delayMs: Math.round(delayMs), err: (err as Error).message }, 'dial failed')
          await sleep(delayMs, undefined, { signal: stop }).catch(() => {})
          continue
        }
      }
      await new Promise<void>((resolve) => {
        // Re-check after registering: the disconnect may already have happened.
        if (stop.aborted || this.#connection(peer) === undefined) return resolve()
        this.#wake.set(peer, resolve)
      })
      this.#wake.delete(peer)
    }
  }

  #peerEvent(peerId: PeerId, up: boolean): void {
    const peer = this.#peerIndex(peerId)
    if (peer === undefined || peer === this.self) return
    if (up) {
      if (this.#connected.has(peer)) return
      this.#connected.add(peer)
    } else {
      if (!this.#connected.delete(peer)) return
      for (const ch of this.#channels.values()) ch.peerDisconnected(peer)
      this.#wake.get(peer)?.()
    }
    this.#log.info({ peer, name: this.#opts.validators[peer]?.name }, up ? 'peer connected' : 'peer disconnected')
    this.#notify(peer, up)
  }

  #notify(peer: number, up: boolean): void {
    for (const listener of this.#listeners) {
      try {
        listener(peer, up)
      } catch (err) {
        this.#log.error({ peer, err }, 'peer listener threw')
      }
    }
  }

  #connection(peer: number): Connection | undefined {
    const id = this.#peerIdObjs[peer]
    if (this.#host === undefined || id === undefined) return undefined
    return this.#host.getConnections(id).find((conn) => conn.status === 'open')
  }

  #peerIndex(peerId: PeerId): number | undefined {
    return this.#indexByPeerId.get(peerId.toString())
  }

  #context(): LinkContext {
    return {
      self: this.self,
      size: this.size,
      logger: this.#log,
      random: this.#random,
      connection: (peer) => this.#connection(peer),
      peerIndex: (peerId) => this.#peerIndex(peerId),
    }
  }

  #checkPeer(peer: number): void {
    if (!Number.isInteger(peer) || peer < 0 || peer >= this.size || peer === this.self) throw new RangeError(`no peer ${peer} (self is ${this.self}, size ${this.size})`)
  }

  #beforeStart(protocol: string): void {
    if (this.#host !== undefined) throw new Error(`${protocol}: register channels and handlers before start()`)
    if (this.#channels.has(protocol) || this.#handlers.has(protocol)) throw new Error(`${protocol} is already registered`)
  }
}
