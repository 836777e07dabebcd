/**
 * A Byzantine validator for end-to-end tests: the real node (VigilNode: PBFT driver, p2p, block
 * sync, execution, HTTP API) with the peer's real key, misbehaving in the named ways of
 * byzantine/behaviours.ts through the node's test-only hooks (packages/node/src/misbehaviour.ts).
 * Usage: node test/dist/src/byzantine-peer.js <peer home> --behave a,b,...
 * Logs like a peer (JSON on stdout), each misbehaviour as a warn line with a `byzantine` field;
 * prints "byzantine vpN ready" once started and stops cleanly on SIGTERM or SIGINT.
 */
import { Signer, validatorsHash } from '@vigil/common'
import { createLogger, loadConfig, startNode, type VigilNode } from '@vigil/node'
import { misbehaviour, parseBehaviours } from './byzantine/behaviours.js'
import { ForgedTips } from './byzantine/forge.js'

const STOP_GRACE_MS = 8000

const [home, flag, list] = process.argv.slice(2)
if (home === undefined || flag !== '--behave' || list === undefined) throw new Error('usage: byzantine-peer <peer home> --behave a,b,...')
parseBehaviours(list)
const cfg = loadConfig(home)
const g = cfg.genesisDoc
const log = createLogger(cfg.log.level, { node: `vp${cfg.index}`, behave: list })
let node: VigilNode | undefined
const store = () => node!.store
const hooks = misbehaviour(list, {
  self: cfg.index,
  n: g.validators.length,
  domain: { chainId: g.chainId, validatorsHash: validatorsHash(g.validators) },
  signer: new Signer(cfg.keyPair),
  log,
  store,
  forged: new ForgedTips(g, store),
})
node = await startNode(cfg, log, { misbehaviour: hooks })
process.stdout.write(`byzantine vp${cfg.index} ready: ${list}\n`)

const stop = (signal: string): void => {
  log.info({ signal }, 'stopping')
  setTimeout(() => process.exit(1), STOP_GRACE_MS).unref()
  node!.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      log.error({ err }, 'error while stopping')
      process.exit(1)
    },
  )
}
process.once('SIGTERM', () => stop('SIGTERM'))
process.once('SIGINT', () => stop('SIGINT'))
