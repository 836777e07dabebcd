import { decodeTx, encode, encodeBlock, encodeCertificate, fromHex, headerHash, toHex, type Block, type BlockHeader, type Genesis } from '@vigil/common'
import type { headerJson, blockJson } from '../api/json.js'
import { AuditFailure, replayLedger, type AuditReport, type BlockSource, type Progress } from './ledger-audit.js'

/**
 * Blocks of a running peer read through its HTTP API (/v1/blocks pages), turned back into
 * the exact bytes it stores so the audit checks them like local ones: any field the JSON view
 * changed would break the header hash, the roots or the certificate.
 */
const PAGE = 100
const TIMEOUT_MS = 30_000

type HeaderJson = ReturnType<typeof headerJson>
type BlockJson = ReturnType<typeof blockJson>

export async function getJson<T>(url: string): Promise<T> {
  let res: Response
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) })
  } catch (err) {
    throw new Error(`${url}: ${(err as Error).message}`)
  }
  const body = await res.text()
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${body.slice(0, 300)}`)
  try {
    return JSON.parse(body) as T
  } catch {
    throw new Error(`${url}: answered with non-JSON`)
  }
}

export const fetchBlocks = async (base: string, from: number, limit: number): Promise<BlockJson[]> =>
  (await getJson<{ blocks: BlockJson[] }>(`${base}/v1/blocks?from=${from}&limit=${limit}`)).blocks

function headerOf(h: HeaderJson): BlockHeader {
  return {
    chainId: h.chainId,
    height: h.height,
    prevHash: fromHex(h.prevHash),
    time: h.timeMs,
    txRoot: fromHex(h.txRoot),
    resultsRoot: fromHex(h.resultsRoot),
    stateRoot: fromHex(h.stateRoot),
    batchDigest: fromHex(h.batchDigest),
    validatorsHash: fromHex(h.validatorsHash),
  }
}

/** The stored form of a block from its JSON view; throws if the JSON is malformed or its hash field lies. */
export function rawBlockOf(b: BlockJson): { block: Uint8Array; cert: Uint8Array | null } {
  const header = headerOf(b.header)
  if (toHex(headerHash(header)) !== b.header.hash) throw new Error(`block ${b.header.height}: header hash field does not match the header`)
  const block: Block = {
    header,
    // A peer of an older release omits the version: its chains are protocol 1, whose format is 1.
    txs: b.txs.map((t) => decodeTx(encode([t.version ?? 1, t.chainId, fromHex(t.signer), t.instance, t.method, t.args, t.nonce, fromHex(t.sig)]))),
    results: b.txs.map((t) => ({
      code: t.result.code,
      error: t.result.error,
      ret: t.result.ret,
      writes: t.result.writes.map((w) => ({ instance: w.instance, key: w.key, value: w.value === null ? null : encode(w.value) })),
    })),
  }
  const c = b.certificate
  const cert = c === null ? null : encodeCertificate({ view: c.view, seq: c.seq, digest: fromHex(c.digest), sigs: c.sigs.map((s) => ({ replica: s.replica, sig: fromHex(s.sig) })) })
  return { block: encodeBlock(block), cert }
}

export function apiSource(base: string): BlockSource {
  return {
    head: async () => (await getJson<{ height: number }>(`${base}/v1/status`)).height,
    async *range(from, to) {
      for (let h = from; h <= to; h += PAGE) {
        const page = await fetchBlocks(base, h, Math.min(PAGE, to - h + 1))
        for (const [i, b] of page.entries()) {
          if (b.header.height !== h + i) throw new AuditFailure({ height: h + i, reason: `the peer answered block ${b.header.height} for height ${h + i}` })
          try {
            yield rawBlockOf(b)
          } catch (err) {
            throw new AuditFailure({ height: h + i, reason: (err as Error).message })
          }
        }
        if (page.length < Math.min(PAGE, to - h + 1)) throw new AuditFailure({ height: h + page.length, reason: `the peer did not serve block ${h + page.length}` })
      }
    },
  }
}

/**
 * Compares peers block by block up to the lowest height they all have. Returns the first height
 * where they disagree and the peers in the minority there, or null if they agree.
 */
export async function comparePeers(bases: string[], onProgress?: (height: number, top: number) => void): Promise<{ height: number; divergent: string[]; hashes: Record<string, string> } | { agreedTo: number }> {
  const top = Math.min(...(await Promise.all(bases.map(async (b) => (await getJson<{ height: number }>(`${b}/v1/status`)).height))))
  for (let from = 0; from <= top; from += PAGE) {
    const pages = await Promise.all(bases.map((b) => fetchBlocks(b, from, Math.min(PAGE, top - from + 1))))
    for (let k = 0; k < Math.min(PAGE, top - from + 1); k++) {
      const hashes = pages.map((p) => p[k]?.header.hash ?? '(missing)')
      if (new Set(hashes).size === 1) continue
      const votes = new Map<string, number>()
      for (const h of hashes) votes.set(h, (votes.get(h) ?? 0) + 1)
      const majority = [...votes].sort((a, b) => b[1] - a[1])[0]![0]
      return { height: from + k, divergent: bases.filter((_, i) => hashes[i] !== majority), hashes: Object.fromEntries(bases.map((b, i) => [b, hashes[i]!])) }
    }
    onProgress?.(Math.min(top, from + PAGE - 1), top)
  }
  return { agreedTo: top }
}

/** Online audit of one peer: its whole chain re-verified and re-executed from its API. */
export async function auditPeer(base: string, g: Genesis, onProgress?: Progress): Promise<AuditReport> {
  const source = apiSource(base)
  const head = await source.head()
  const r = await replayLedger(g, source, head, onProgress)
  return { ok: r.problem === null, height: head, blocks: head + 1, txs: r.txs, stateRoot: toHex(r.stateRoot), problems: r.problem === null ? [] : [r.problem] }
}
