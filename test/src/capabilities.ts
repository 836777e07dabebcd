import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { DEPLOY_DIR, runScript } from './scenarios/driver.js'

/**
 * Probes for what some suites need from the machine, each done the way the suite will use it:
 * a uid says nothing inside a container that is root without CAP_NET_ADMIN or CAP_SYS_ADMIN.
 * A missing capability is one line naming what failed and how to get it.
 */
export type Capability = { present: true } | { present: false; missing: string }

/** The reason a suite skips (node:test's `skip` option), or false when the capability is present. */
export function skipReason(c: Capability): string | false {
  return c.present ? false : c.missing
}

const CAPS = { NET_ADMIN: 12, SYS_ADMIN: 21 } as const
export type CapName = keyof typeof CAPS

/** The named capabilities this process lacks, read from its effective set. */
export function lackingCapabilities(): CapName[] {
  const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]
  const mask = BigInt(`0x${eff ?? '0'}`)
  return (Object.keys(CAPS) as CapName[]).filter((c) => ((mask >> BigInt(CAPS[c])) & 1n) === 0n)
}

export const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0

/** Runs a command, throwing its first line of stderr (or the failure) prefixed by the command. */
function run(cmd: string, args: string[], timeoutMs = 15_000): void {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: timeoutMs })
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string }
    const detail = e.stderr?.toString().trim().split('\n')[0] || e.message.split('\n')[0]
    throw new Error(`\`${cmd} ${args.join(' ')}\`: ${detail}`)
  }
}

const NETNS_HOW =
  'run the tests as root with CAP_NET_ADMIN and CAP_SYS_ADMIN (in a container: docker run --privileged, or --cap-add NET_ADMIN --cap-add SYS_ADMIN)'

/**
 * What the network-namespace testnet does, on throwaway names: a namespace, a veth pair with one
 * end inside it, a bridge, an iptables chain hooked into INPUT there, and the host's FORWARD chain
 * read. Missing tools are installed first (deploy/ensure-tools.sh), but only where a namespace
 * can be made at all, so a machine that cannot run the suite is not kept waiting on apt-get.
 */
export function probeNetns(): Capability {
  const lacking = lackingCapabilities()
  const fail = (what: string): Capability => ({
    present: false,
    missing: `network namespaces + iptables unavailable: ${what}${lacking.length ? ` (this process lacks ${lacking.map((c) => `CAP_${c}`).join(', ')})` : ''}; ${NETNS_HOW}`,
  })
  try {
    if (!has('ip') || !has('iptables') || !has('nsenter')) {
      if (has('unshare')) run('unshare', ['--net', 'true'])
      run(join(DEPLOY_DIR, 'ensure-tools.sh'), ['netns'], 300_000)
    }
  } catch (err) {
    return fail((err as Error).message)
  }
  const ns = `vigilprobe${process.pid}`
  const veth = `vgp${process.pid}`
  let made = false
  try {
    run('ip', ['netns', 'add', ns])
    made = true
    run('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns])
    run('ip', ['netns', 'exec', ns, 'ip', 'link', 'add', 'probebr0', 'type', 'bridge'])
    run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'eth0', 'master', 'probebr0', 'up'])
    run('ip', ['netns', 'exec', ns, 'iptables', '-w', '-N', 'VIGIL-PROBE'])
    run('ip', ['netns', 'exec', ns, 'iptables', '-w', '-I', 'INPUT', '-j', 'VIGIL-PROBE'])
    run('iptables', ['-w', '-S', 'FORWARD'])
    return { present: true }
  } catch (err) {
    return fail((err as Error).message)
  } finally {
    // Deleting the namespace deletes its end of the veth pair, and so the pair.
    if (made) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 15_000 })
    spawnSync('ip', ['link', 'del', veth], { stdio: 'ignore', timeout: 15_000 })
  }
}

let netns: Capability | undefined
/** probeNetns, once per process (the suites of one test file share it). */
export function netnsCapability(): Capability {
  return (netns ??= probeNetns())
}

/**
 * A Docker engine for the docker-compose testnet, whose faults are iptables rules entered with
 * nsenter: no engine can run where namespaces cannot be made, so that is said at once. Otherwise
 * an engine that answers `docker info` is used, or `testnet.sh engine` installs and starts one
 * (it fails as soon as dockerd exits, or after a bounded wait).
 */
export async function probeDocker(): Promise<Capability> {
  const ns = netnsCapability()
  if (!ns.present) return { present: false, missing: `no Docker engine can run here: ${ns.missing}` }
  try {
    await runScript('testnet.sh', ['engine'], {}, 300_000)
    return { present: true }
  } catch (err) {
    const lines = (err as Error).message.trim().split('\n')
    return { present: false, missing: `Docker engine unavailable: ${lines[lines.length - 1]}; install docker.io and docker-compose and start dockerd (deploy/testnet.sh engine does both as root)` }
  }
}

/**
 * argv run without the given capabilities, which are also dropped from the bounding set so that
 * nothing it execs gets them back (setpriv, else capsh, installed as root if neither is there),
 * or why that cannot be done here.
 */
export function withoutCapabilities(caps: CapName[], argv: string[]): string[] | string {
  if (process.getuid?.() !== 0) return 'dropping capabilities needs root'
  if (!has('setpriv') && !has('capsh') && has('apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'libcap2-bin'], { stdio: 'ignore', timeout: 300_000, env })
  }
  const names = caps.map((c) => c.toLowerCase())
  if (has('setpriv')) return ['setpriv', '--inh-caps=-all', `--bounding-set=${names.map((c) => `-${c}`).join(',')}`, '--', ...argv]
  // capsh runs a shell command line after --.
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
  if (has('capsh')) return ['capsh', `--drop=${names.map((c) => `cap_${c}`).join(',')}`, '--', '-c', quoted]
  return 'neither setpriv (util-linux) nor capsh (libcap2-bin) is installed'
}
