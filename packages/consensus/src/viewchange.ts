import { compareBytes, sha256, type SignDomain } from '@vigil/common'
import { checkpointCertError, preparedCertError, type Verify } from './certs.js'
import { NULL_DIGEST, newViewSignBytes, prepareSignBytes, viewChangeSignBytes, type NewView, type NewViewEntry, type ViewChange } from './messages.js'
import type { CheckpointCertificate, PreparedCertificate, ReplicaCrypto } from './types.js'

/** What checking VIEW-CHANGE and NEW-VIEW needs to know about the chain. */
export interface ViewChangeRules {
  domain: SignDomain
  n: number
  checkpointInterval: number
  watermarkWindow: number
  /** Signatures in a prepared or checkpoint certificate, and VIEW-CHANGEs in a NEW-VIEW (quorumSize). */
  quorum: number
  verify: Verify
}

/** A VIEW-CHANGE with its signed bytes and their hash. */
export interface DigestedViewChange {
  msg: ViewChange
  hash: Uint8Array
  signBytes: Uint8Array
}

export function digestViewChange(d: SignDomain, msg: ViewChange): DigestedViewChange {
  const signBytes = viewChangeSignBytes(d, msg)
  return { msg, hash: sha256(signBytes), signBytes }
}

export function buildViewChange(
  d: SignDomain, crypto: ReplicaCrypto, view: number, replica: number, checkpoint: CheckpointCertificate, prepared: PreparedCertificate[],
): DigestedViewChange {
  const unsigned = { view, replica, checkpoint, prepared }
  const signBytes = viewChangeSignBytes(d, unsigned)
  return { msg: { type: 'viewchange', ...unsigned, sig: crypto.sign(signBytes) }, hash: sha256(signBytes), signBytes }
}

/** Null if the VIEW-CHANGE is valid, else why not. Its signature is checked first (cheapest way to refuse junk). */
export function viewChangeError(r: ViewChangeRules, vc: DigestedViewChange): string | null {
  const m = vc.msg
  if (m.replica >= r.n) return `view-change signer ${m.replica} is not a validator`
  if (!r.verify(m.replica, vc.signBytes, m.sig)) return 'bad signature on view-change'
  const cp = m.checkpoint
  if (cp.seq % r.checkpointInterval !== 0) return `view-change checkpoint ${cp.seq} is not at a checkpoint interval`
  const cpErr = checkpointCertError(cp, r.domain, r.n, r.verify, r.quorum)
  if (cpErr !== null) return `view-change checkpoint certificate: ${cpErr}`
  let prev = cp.seq
  for (const p of m.prepared) {
    if (p.seq <= prev) return 'view-change prepared certificates are not in increasing sequence order above the checkpoint'
    if (p.seq > cp.seq + r.watermarkWindow) return `view-change prepared certificate ${p.seq} is outside the watermarks`
    if (p.view >= m.view) return `view-change prepared certificate ${p.seq} is not from an earlier view`
    const err = preparedCertError(p, r.domain, r.n, r.verify, r.quorum)
    if (err !== null) return `view-change prepared certificate ${p.seq}: ${err}`
    prev = p.seq
  }
  return null
}

/**
 * A re-proposal names a digest only. `holders`: the replicas whose signatures prepared it (each
 * held the batch then, and at least one of them is honest), where a replica lacking it asks.
 */
export interface Reproposal {
  seq: number
  digest: Uint8Array
  holders: readonly number[]
}

/**
 * The O set of PBFT: from the highest stable checkpoint h in the VIEW-CHANGEs up to the highest
 * prepared sequence number, re-propose the digest of the highest-view prepared certificate, or
 * the null batch's where there is none. Deterministic in the set of messages, whatever their order.
 */
export function reproposals(vcs: readonly DigestedViewChange[]): { checkpoint: CheckpointCertificate; entries: Reproposal[] } {
  let checkpoint = vcs[0]!.msg.checkpoint
  for (const vc of vcs) if (vc.msg.checkpoint.seq > checkpoint.seq) checkpoint = vc.msg.checkpoint
  const best = new Map<number, PreparedCertificate>()
  let maxSeq = checkpoint.seq
  for (const vc of vcs) {
    for (const p of vc.msg.prepared) {
      if (p.seq <= checkpoint.seq) continue
      const cur = best.get(p.seq)
      // Equal views carry equal digests unless more than f are faulty; the byte order tie-break keeps it deterministic anyway.
      if (cur === undefined || p.view > cur.view || (p.view === cur.view && compareBytes(p.digest, cur.digest) < 0)) best.set(p.seq, p)
      if (p.seq > maxSeq) maxSeq = p.seq
    }
  }
  const entries: Reproposal[] = []
  for (let seq = checkpoint.seq + 1; seq <= maxSeq; seq++) {
    const b = best.get(seq)
    entries.push(b === undefined ? { seq, digest: NULL_DIGEST, holders: [] } : { seq, digest: b.digest, holders: b.sigs.map((s) => s.replica) })
  }
  return { checkpoint, entries }
}

/** The VIEW-CHANGEs of a NEW-VIEW in replica order, and the bytes the new primary signs. */
export function newViewSignBytesOf(d: SignDomain, view: number, vcs: readonly DigestedViewChange[], pre: readonly NewViewEntry[]): Uint8Array {
  return newViewSignBytes(d, view, vcs.map((vc): [number, Uint8Array] => [vc.msg.replica, vc.hash]), pre)
}

/** From `quorum` of the VIEW-CHANGEs (the lowest replicas'), so its size stays within maxNewViewBytes. */
export function buildNewView(
  d: SignDomain, crypto: ReplicaCrypto, view: number, vcs: DigestedViewChange[], quorum: number,
): { msg: NewView; entries: Reproposal[]; checkpoint: CheckpointCertificate } {
  const sorted = [...vcs].sort((a, b) => a.msg.replica - b.msg.replica).slice(0, quorum)
  const { checkpoint, entries } = reproposals(sorted)
  const pre = entries.map((e) => ({ seq: e.seq, digest: e.digest, sig: crypto.sign(prepareSignBytes(d, view, e.seq, e.digest)) }))
  const sig = crypto.sign(newViewSignBytesOf(d, view, sorted, pre))
  return { msg: { type: 'newview', view, viewChanges: sorted.map((v) => v.msg), pre, sig }, entries, checkpoint }
}

export type NewViewCheck =
  | { ok: true; entries: Array<Reproposal & { sig: Uint8Array }>; checkpoint: CheckpointCertificate }
  /** `signed`: the primary's signature was valid, so the bad content is its fault. */
  | { ok: false; error: string; signed: boolean }

/** Verifies a NEW-VIEW against the VIEW-CHANGEs it carries: recomputes the O set and compares. */
export function checkNewView(r: ViewChangeRules, m: NewView, primary: number): NewViewCheck {
  if (m.viewChanges.length > r.n) return { ok: false, error: 'new-view carries more view-changes than validators', signed: false }
  const vcs = m.viewChanges.map((vc) => digestViewChange(r.domain, vc))
  if (!r.verify(primary, newViewSignBytesOf(r.domain, m.view, vcs, m.pre), m.sig)) return { ok: false, error: 'bad signature on new-view', signed: false }
  const fail = (error: string): NewViewCheck => ({ ok: false, error, signed: true })
  let prev = -1
  for (const vc of vcs) {
    if (vc.msg.view !== m.view) return fail('new-view carries a view-change for another view')
    if (vc.msg.replica <= prev) return fail('new-view view-changes are not from distinct replicas in order')
    prev = vc.msg.replica
    const err = viewChangeError(r, vc)
    if (err !== null) return fail(`new-view carries an invalid view-change: ${err}`)
  }
  if (vcs.length < r.quorum) return fail(`new-view carries ${vcs.length} view-changes, ${r.quorum} needed`)
  const { checkpoint, entries } = reproposals(vcs)
  const same = entries.length === m.pre.length && entries.every((e, i) => e.seq === m.pre[i]!.seq && compareBytes(e.digest, m.pre[i]!.digest) === 0)
  if (!same) return fail('NEW-VIEW does not match its VIEW-CHANGEs')
  for (const e of m.pre) {
    if (!r.verify(primary, prepareSignBytes(r.domain, m.view, e.seq, e.digest), e.sig)) return fail(`bad signature on new-view re-proposal ${e.seq}`)
  }
  return { ok: true, entries: entries.map((e, i) => ({ ...e, sig: m.pre[i]!.sig })), checkpoint }
}
