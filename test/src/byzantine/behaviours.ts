import { randomBytes } from 'node:crypto'
import { Signer, decodeTx, encode, fromHex, generateKeyPair, headerHash, sha256, signTx, toHex, type SignDomain } from '@vigil/common'
import { digestOf, prepareSignBytes, viewChangeSignBytes, type Batch, type Message, type PreparedCertificate, type Request, type ViewChange } from '@vigil/consensus'
import { encodeBlocks, type Logger, type Misbehaviour, type SyncRequest } from '@vigil/node'
import type { LedgerStore } from '@vigil/storage'
import { ForgedTips } from './forge.js'

/**
 * The named ways a Byzantine validator misbehaves (test/src/byzantine-peer.ts), as the node's
 * test-only hooks. Everything else it does is the honest node's code with its real key.
 *
 * - substitute-committed[:garbage]: in COMMITTED messages (sent to a lagging peer) the first
 *   request's payload becomes another valid transaction's bytes (signed by a key nobody uses), or
 *   garbage; the id and the certificate stay. It also tells block sync its height is 0, so that a
 *   lagging peer catches up through consensus (COMMITTED) instead of fetching verified blocks.
 * - substitute-newview[:garbage]: the same in the BATCH replies it sends, which carry the batches
 *   that NEW-VIEWs and VIEW-CHANGEs name by digest to a peer that fetches them.
 * - equivocate: as primary, each peer gets its own PRE-PREPARE (the batch time differs), each
 *   signed, followed by the next peer's: no batch gathers a quorum, and every peer holds two.
 * - lie-height: block sync status claims a million blocks more than it has.
 * - empty-sync: every block range is answered with no blocks.
 * - forged-tip: a block range reaching its highest block with a successful write ends there,
 *   with that block forged: one transaction re-signed with garbage, re-executed (UNAUTHORIZED,
 *   no writes) so results and state root match; certificate kept. Its status and every other
 *   range are honest, so nothing but the forged block gives it away.
 * - censor:<signer hex>: that signer's requests never reach its consensus core, so as primary
 *   it never proposes them (everyone else's it proposes as usual).
 * - doctored-viewchange: its VIEW-CHANGEs omit all prepared certificates but one, whose digest is
 *   altered, re-signed so the message itself verifies (the certificate's prepare signatures do not).
 */
export const BEHAVIOURS = ['substitute-committed', 'substitute-newview', 'equivocate', 'lie-height', 'empty-sync', 'forged-tip', 'censor', 'doctored-viewchange'] as const
type Name = (typeof BEHAVIOURS)[number]

export interface ByzantineContext {
  self: number
  n: number
  domain: SignDomain
  signer: Signer
  /** Reports a misbehaviour in the peer's log (the tests read it there). */
  log: Logger
  store: () => LedgerStore
  forged: ForgedTips
}

interface Parsed {
  on: Set<Name>
  /** Payload substitutions use garbage instead of another valid transaction. */
  garbage: Set<Name>
  censored: string | null
}

export function parseBehaviours(list: string): Parsed {
  const p: Parsed = { on: new Set(), garbage: new Set(), censored: null }
  for (const item of list.split(',').filter(Boolean)) {
    const [name, arg] = item.split(':', 2) as [string, string | undefined]
    if (!(BEHAVIOURS as readonly string[]).includes(name)) throw new Error(`unknown behaviour "${name}" (known: ${BEHAVIOURS.join(', ')})`)
    const n = name as Name
    p.on.add(n)
    if (n === 'censor') {
      if (arg === undefined || !/^[0-9a-f]{64}$/.test(arg)) throw new Error('censor needs the signer public key in hex: censor:<64 hex digits>')
      p.censored = arg
    } else if (arg === 'garbage' && (n === 'substitute-committed' || n === 'substitute-newview')) p.garbage.add(n)
    else if (arg !== undefined) throw new Error(`behaviour ${n} takes no argument "${arg}"`)
  }
  return p
}

/** A sync status answer of height and head hash only: a liar offers no certificate for its claim. */
const encodeStatus = (height: number, hash: Uint8Array): Uint8Array => encode([height, hash])

export function misbehaviour(list: string, ctx: ByzantineContext): Misbehaviour {
  const p = parseBehaviours(list)
  const others = [...Array(ctx.n).keys()].filter((i) => i !== ctx.self)
  const nobody = new Signer(generateKeyPair())
  const report = (name: Name, fields: Record<string, unknown>, what: string): void => ctx.log.warn({ byzantine: name, ...fields }, `byzantine: ${what}`)

  /** Another payload under the same id: a valid transaction nobody submitted, or garbage. */
  const substitute = (name: Name, r: Request, where: Record<string, unknown>): Request => {
    let payload: Uint8Array
    let substituteId: string | null = null
    if (p.garbage.has(name)) payload = randomBytes(r.payload.byteLength)
    else {
      const orig = decodeTx(r.payload).body
      const tx = signTx({ ...orig, signer: nobody.publicKey, args: { ...orig.args, byzantine: true }, nonce: toHex(randomBytes(12)) }, nobody)
      payload = tx.bytes
      substituteId = toHex(tx.id)
    }
    report(name, { ...where, id: toHex(r.id), substitute: substituteId }, `substituted the payload of ${toHex(r.id)}`)
    return { id: r.id, payload }
  }
  const substituteBatch = (name: Name, b: Batch, where: Record<string, unknown>): Batch =>
    b.requests.length === 0 ? b : { ...b, requests: [substitute(name, b.requests[0]!, where), ...b.requests.slice(1)] }

  const equivocate = (to: number, m: Extract<Message, { type: 'preprepare' }>): Message[] => {
    const variant = (k: number): Message => {
      const batch = { ...m.batch, time: m.batch.time + 1 + k }
      return { ...m, batch, sig: ctx.signer.sign(prepareSignBytes(ctx.domain, m.view, m.seq, digestOf(batch))) }
    }
    const k = others.indexOf(to)
    report('equivocate', { to, view: m.view, seq: m.seq }, `sent conflicting pre-prepares for view ${m.view} seq ${m.seq}`)
    return [variant(k), variant((k + 1) % others.length)]
  }

  const doctor = (to: number, vc: ViewChange): ViewChange => {
    if (vc.replica !== ctx.self || vc.prepared.length === 0) return vc
    const keep = vc.prepared[vc.prepared.length - 1]!
    const altered: PreparedCertificate = { ...keep, digest: sha256(keep.digest) }
    const unsigned = { view: vc.view, replica: vc.replica, checkpoint: vc.checkpoint, prepared: [altered] }
    report('doctored-viewchange', { to, view: vc.view, omitted: vc.prepared.length - 1, altered: altered.seq }, `doctored a view-change for view ${vc.view}`)
    return { type: 'viewchange', ...unsigned, sig: ctx.signer.sign(viewChangeSignBytes(ctx.domain, unsigned)) }
  }

  const rewrites = (m: Message): boolean =>
    (m.type === 'preprepare' && p.on.has('equivocate')) ||
    (m.type === 'committed' && p.on.has('substitute-committed') && m.batch.requests.length > 0) ||
    (m.type === 'batch' && p.on.has('substitute-newview') && m.batch.requests.length > 0) ||
    (m.type === 'viewchange' && p.on.has('doctored-viewchange'))

  const rewrite = (to: number, m: Message): Message[] => {
    switch (m.type) {
      case 'preprepare':
        return equivocate(to, m)
      case 'committed':
        return [{ ...m, batch: substituteBatch('substitute-committed', m.batch, { to, in: 'committed', seq: m.cert.seq }) }]
      case 'batch':
        return [{ ...m, batch: substituteBatch('substitute-newview', m.batch, { to, in: 'batch', seq: m.seq }) }]
      case 'viewchange':
        return [doctor(to, m)]
      default:
        return [m]
    }
  }

  const serveSync = async (from: number, req: SyncRequest): Promise<Uint8Array | undefined> => {
    const head = ctx.store().head()!
    if (p.on.has('forged-tip') && req.kind === 'blocks') {
      const tip = await ctx.forged.tip()
      if (tip !== null && req.from <= tip.height && tip.height < req.from + req.count) {
        const blocks = await ctx.forged.honestRange(req.from, tip.height)
        blocks[blocks.length - 1] = { block: tip.bytes, cert: tip.cert }
        report('forged-tip', { to: from, height: tip.height, tx: tip.txId }, `served a forged tip at ${tip.height}`)
        return encodeBlocks(blocks)
      }
    }
    if (req.kind === 'status') {
      if (p.on.has('lie-height')) {
        report('lie-height', { to: from }, 'claimed a height it does not have')
        return encodeStatus(head.height + 1_000_000, head.hash)
      }
      if (p.on.has('substitute-committed')) return encodeStatus(0, headerHash((await ctx.store().getHeader(0))!))
      return undefined
    }
    if (p.on.has('empty-sync')) {
      report('empty-sync', { to: from, from: req.from, count: req.count }, 'answered a block range with nothing')
      return encodeBlocks([])
    }
    return undefined
  }

  const censored = p.censored === null ? null : fromHex(p.censored)
  return {
    outgoing: (to, msg) => {
      if (!rewrites(msg)) return [{ to, msg }]
      return (to === 'all' ? others : [to]).flatMap((peer) => rewrite(peer, msg).map((m) => ({ to: peer, msg: m })))
    },
    admitRequest: censored === null ? undefined : (r) => {
      let signer: Uint8Array
      try {
        signer = decodeTx(r.payload).body.signer
      } catch {
        return true
      }
      if (Buffer.compare(signer, censored) !== 0) return true
      report('censor', { id: toHex(r.id) }, `kept ${toHex(r.id)} from consensus`)
      return false
    },
    serveSync: p.on.has('forged-tip') || p.on.has('lie-height') || p.on.has('empty-sync') || p.on.has('substitute-committed') ? serveSync : undefined,
  }
}
