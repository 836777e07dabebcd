import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ScriptTestnet } from './scenarios/driver.js'

/**
 * The network-namespace testnet (deploy/netns-testnet.sh) as a scenario driver. Its own names
 * and subnet (vigiltest-vpN, vigiltestbr0, 10.77.1.0/24 by default) keep it apart from an
 * operator's testnet on the same host (vigil-vpN, 10.77.0.0/24); a suite that may run beside
 * another one (node --test runs files in parallel) passes names and a subnet of its own.
 */
export const netnsSkipReason: string | false =
  process.getuid?.() === 0 ? false : 'the network-namespace testnet needs root (ip netns, iptables): run the tests as root'

export async function netnsTestnet(nodes = 4, name = 'vigiltest', subnet = '10.77.1'): Promise<ScriptTestnet> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-netns-'))
  const env = { VIGIL_NETNS_DIR: dir, VIGIL_NETNS_NAME: name, VIGIL_NETNS_SUBNET: subnet }
  return ScriptTestnet.up('netns', 'netns-testnet.sh', env, join(dir, 'net'), ['--nodes', String(nodes)])
}
