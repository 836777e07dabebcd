/**
 * Child process for p2p-throughput.test: validator `self` of a deterministic 2-validator set, counting
 * frames on the bench channel and reporting the count on request. Does nothing unless
 * VIGIL_P2P_BENCH_CHILD is set (node --test also loads every file under test/).
 */
import { PeerLinks } from '../../src/p2p/links.js'
import { bytes, silentLogger, text, validatorSet } from './cluster.js'

export const BENCH_CHANNEL = '/vigil/bench/1'
export const BENCH_COUNT = '/vigil/bench-count/1'

const config = process.env.VIGIL_P2P_BENCH_CHILD
if (config !== undefined) {
  const { ports, self } = JSON.parse(config) as { ports: number[]; self: number }
  const set = validatorSet(ports)
  const links = new PeerLinks({ keyPair: set.keys[self]!, listen: set.validators[self]!.addresses, validators: set.validators, self, logger: silentLogger })
  let frames = 0
  links.channel(BENCH_CHANNEL, { maxFrameBytes: 4096, queueMax: 8192 }).onFrame(() => void frames++)
  links.handle(BENCH_COUNT, async (_from, req) => bytes(text(req) === 'count' ? String(frames) : 'unknown'), { maxRequestBytes: 16 })
  await links.start()
  process.stdout.write('ready\n')
  // Never outlive the parent: it holds our stdin open.
  const exit = (): void => void links.stop().finally(() => process.exit(0))
  process.stdin.on('end', exit).on('close', exit).resume()
  process.on('SIGTERM', exit)
}
