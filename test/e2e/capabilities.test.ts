import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { describe, it } from 'node:test'
import { has, lackingCapabilities, netnsCapability, withoutCapabilities, type CapName, type Capability } from '../src/capabilities.js'

/**
 * Issue 23: the probes that decide whether the namespace and Docker suites run. Each is checked
 * against the capability bits of the process it runs in, here and in children that dropped
 * CAP_NET_ADMIN or CAP_SYS_ADMIN from their bounding set (so nothing they exec gets them back).
 */
const MODULE = new URL('../src/capabilities.js', import.meta.url).href

interface ChildProbe {
  pid: number
  lacking: CapName[]
  result: Capability
  ms: number
}

/** Runs one probe of the module in a child process without `caps`. */
function probeWithout(caps: CapName[], probe: 'probeNetns' | 'probeDocker'): ChildProbe | string {
  const script = `const m = await import(${JSON.stringify(MODULE)}); const t = Date.now(); const result = await m.${probe}();
    console.log(JSON.stringify({ pid: process.pid, lacking: m.lackingCapabilities(), result, ms: Date.now() - t }))`
  const argv = withoutCapabilities(caps, [process.execPath, '--input-type=module', '-e', script])
  if (typeof argv === 'string') return argv
  const out = execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 60_000 })
  return JSON.parse(out.trim().split('\n').pop()!) as ChildProbe
}

const leftovers = (pid: number): string[] => {
  if (!has('ip')) return []
  const out = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout + spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout
  return out.split('\n').filter((l) => l.includes(`vigilprobe${pid}`) || l.includes(`vgp${pid}`))
}

describe('capability probes', () => {
  it('the network-namespace probe here agrees with this process: present with CAP_NET_ADMIN and CAP_SYS_ADMIN, missing and named without', () => {
    const lacking = lackingCapabilities()
    const c = netnsCapability()
    if (lacking.length === 0) assert.deepEqual(c, { present: true }, 'the probe failed although this process has CAP_NET_ADMIN and CAP_SYS_ADMIN')
    else {
      assert.equal(c.present, false)
      if (!c.present) for (const cap of lacking) assert.match(c.missing, new RegExp(`CAP_${cap}`))
    }
    assert.deepEqual(leftovers(process.pid), [], 'the probe left its namespace or veth behind')
  })

  for (const caps of [['NET_ADMIN'], ['SYS_ADMIN'], ['NET_ADMIN', 'SYS_ADMIN']] as CapName[][]) {
    it(`without ${caps.map((c) => `CAP_${c}`).join(' and ')} the namespace probe reports missing, names what is lacking, leaves nothing behind`, (t) => {
      const r = probeWithout(caps, 'probeNetns')
      if (typeof r === 'string') return t.skip(r)
      for (const cap of caps) assert.ok(r.lacking.includes(cap), `the child still has CAP_${cap}: ${JSON.stringify(r)}`)
      assert.equal(r.result.present, false, `the probe reported present without ${caps.join(', ')}`)
      if (!r.result.present) {
        assert.match(r.result.missing, /^network namespaces \+ iptables unavailable: `(ip|unshare) /)
        for (const cap of caps) assert.match(r.result.missing, new RegExp(`lacks [A-Z_, ]*CAP_${cap}`))
        assert.match(r.result.missing, /--cap-add NET_ADMIN --cap-add SYS_ADMIN/)
        t.diagnostic(r.result.missing)
      }
      assert.deepEqual(leftovers(r.pid), [], 'the probe left its namespace or veth behind')
    })
  }

  it('where no namespace can be made, the Docker probe says no engine can run without trying to start one', (t) => {
    const r = probeWithout(['NET_ADMIN', 'SYS_ADMIN'], 'probeDocker')
    if (typeof r === 'string') return t.skip(r)
    assert.equal(r.result.present, false)
    if (!r.result.present) assert.match(r.result.missing, /^no Docker engine can run here: network namespaces \+ iptables unavailable: /)
    t.diagnostic(`answered in ${r.ms} ms`)
  })
})
