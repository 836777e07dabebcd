import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { probeDocker, skipReason } from './capabilities.js'
import { ScriptTestnet } from './scenarios/driver.js'

/**
 * The docker-compose testnet (deploy/testnet.sh) as a scenario driver, under its own compose
 * project, subnet and host ports so it stays apart from an operator's testnet on the same host.
 */
export const DOCKER_PROJECT = 'vigiltest'
const ENV = { VIGIL_DOCKER_PROJECT: DOCKER_PROJECT, VIGIL_DOCKER_SUBNET: '10.78.1', VIGIL_API_PORT_BASE: '18700' }

/** Why the Docker scenarios cannot run here, or false (see probeDocker). */
export async function dockerSkipReason(): Promise<string | false> {
  return skipReason(await probeDocker())
}

export async function dockerTestnet(): Promise<ScriptTestnet> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-docker-'))
  return ScriptTestnet.up('docker', 'testnet.sh', { ...ENV, VIGIL_DOCKER_DIR: dir }, join(dir, 'net'))
}
