import { readFileSync, writeFileSync } from 'node:fs'
import { parseGenesis, type Genesis } from '@vigil/common'
import { buildBundle, bundleText, describeFacts, verifyBundle, type ProofBundle } from '@vigil/node/proof'
import { ApiClient } from './client.js'
import { CliError } from './output.js'

/** Proof bundles fetched from a peer, and the genesis file they (and audits) are checked against. */

export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new CliError(`${what} ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
}

export function readGenesis(path: string): Genesis {
  try {
    return parseGenesis(JSON.parse(readText(path, '--genesis')))
  } catch (err) {
    if (err instanceof CliError) throw err
    throw new CliError(`--genesis ${path}: ${(err as Error).message}`)
  }
}

/** GET /v1/state/...?proof=true turned into a bundle (shape-checked; check-proof checks the signatures). */
export async function fetchBundle(node: string, instance: string, key: string): Promise<ProofBundle> {
  const answer = await new ApiClient(node).get(`/v1/state/${encodeURIComponent(instance)}/${encodeURIComponent(key)}?proof=true`)
  try {
    return buildBundle(instance, key, answer)
  } catch (err) {
    throw new CliError(`${node} answered a malformed proof: ${(err as Error).message}`)
  }
}

/** Writes a bundle file; with a genesis, verifies it first and returns the human line. */
export function writeBundle(bundle: ProofBundle, out: string, genesisPath?: string): string | null {
  const line = genesisPath === undefined ? null : describeFacts(verifyBundle(bundle, readGenesis(genesisPath)))
  writeFileSync(out, bundleText(bundle))
  return line
}
