import { setTimeout as sleep } from 'node:timers/promises'
import { keyPairFromSeed, type KeyPair, type ValidatorInfo } from '@vigil/common'
import { pino } from 'pino'
import { peerIdFromPublicKey } from '../../src/p2p/identity.js'
import { PeerLinks, type PeerLinksOptions } from '../../src/p2p/links.js'

export { freePorts } from '../../src/free-port.js'

/** Test helpers for real libp2p nodes on 127.0.0.1. */

export const silentLogger = pino({ level: process.env.VIGIL_TEST_LOG ?? 'silent' })

/** Deterministic keys, so child processes can rebuild the same validator set from an index. */
export function testKey(i: number): KeyPair {
  return keyPairFromSeed(new Uint8Array(32).fill(i + 1))
}

export function validatorSet(ports: number[], firstKey = 0): { keys: KeyPair[]; validators: ValidatorInfo[] } {
  const keys = ports.map((_, i) => testKey(firstKey + i))
  const validators = keys.map((k, i): ValidatorInfo => ({
    index: i,
    name: `v${i}`,
    publicKey: k.publicKey,
    peerId: peerIdFromPublicKey(k.publicKey),
    addresses: [`/ip4/127.0.0.1/tcp/${ports[i]}`],
  }))
  return { keys, validators }
}

export const FAST_BACKOFF = { minMs: 50, maxMs: 500 }

export function linksFor(set: { keys: KeyPair[]; validators: ValidatorInfo[] }, self: number, extra: Partial<PeerLinksOptions> = {}): PeerLinks {
  const v = set.validators[self] as ValidatorInfo
  return new PeerLinks({
    keyPair: set.keys[self] as KeyPair,
    listen: v.addresses,
    validators: set.validators,
    self,
    logger: silentLogger.child({ v: self }),
    backoff: FAST_BACKOFF,
    ...extra,
  })
}

/** Polls until cond() holds; fails with `what` after timeoutMs instead of hanging. */
export async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

/** Every PeerLinks a test starts, stopped in its `finally`/`after`, whatever happened. */
export class Started {
  readonly #all = new Set<{ stop(): void | Promise<void> }>()
  add<T extends { stop(): void | Promise<void> }>(x: T): T {
    this.#all.add(x)
    return x
  }
  async stopAll(): Promise<void> {
    await Promise.allSettled([...this.#all].map(async (x) => x.stop()))
    this.#all.clear()
  }
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
export const text = (b: Uint8Array): string => new TextDecoder().decode(b)
