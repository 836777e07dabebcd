import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { netnsCapability, skipReason } from './capabilities.js'
import { ScriptTestnet } from './scenarios/driver.js'

/**
 * The network-namespace testnet (deploy/netns-testnet.sh) as a scenario driver. Its own names
 * and subnet (vigiltest-vpN, vigiltestbr0, 10.77.1.0/24) keep it apart from an operator's testnet
 * on the same host (vigil-vpN, 10.77.0.0/24).
 */
/** Why the suites on this testnet cannot run here (probed by making a namespace), or false. */
export const netnsSkipReason: string | false = skipReason(netnsCapability())

export async function netnsTestnet(): Promise<ScriptTestnet> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-netns-'))
  const env = { VIGIL_NETNS_DIR: dir, VIGIL_NETNS_NAME: 'vigiltest', VIGIL_NETNS_SUBNET: '10.77.1' }
  return ScriptTestnet.up('netns', 'netns-testnet.sh', env, join(dir, 'net'))
}
