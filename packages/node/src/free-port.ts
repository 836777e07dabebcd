import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/**
 * Free TCP ports for peers that start a moment later (local testnets, tests). Binding port 0
 * gives a port from the kernel's ephemeral range, which outgoing connections draw from too:
 * between that check and the peer's listen, a client socket can take it (seen in CI: a peer of
 * a fresh cluster exiting with EADDRINUSE). So ports are drawn at random just below (or above)
 * that range, where only explicit binds go, checked by binding, and never handed out twice by
 * this process.
 */
const handedOut = new Set<number>()
const SPAN = 10_000

function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number)
    if (Number.isInteger(lo) && Number.isInteger(hi) && lo! <= hi!) return [lo!, hi!]
  } catch {
    // Not Linux: assume its default.
  }
  return [32768, 60999]
}

/** The larger of the spans beside the ephemeral range, or null when neither has room. */
function drawRange(): [number, number] | null {
  const [lo, hi] = ephemeralRange()
  const below: [number, number] = [Math.max(1024, lo - SPAN), lo - 1]
  const above: [number, number] = [hi + 1, Math.min(65535, hi + SPAN)]
  const best = below[1] - below[0] >= above[1] - above[0] ? below : above
  return best[1] - best[0] >= 100 ? best : null
}

function listenOn(port: number, host: string): Promise<number | null> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => resolve(null))
    srv.listen(port, host, () => {
      const bound = (srv.address() as { port: number }).port
      srv.close(() => resolve(bound))
    })
  })
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const range = drawRange()
  for (let attempt = 0; range !== null && attempt < 200; attempt++) {
    const port = range[0] + Math.floor(Math.random() * (range[1] - range[0] + 1))
    if (handedOut.has(port) || (await listenOn(port, host)) === null) continue
    handedOut.add(port)
    return port
  }
  // No room beside the ephemeral range (or all taken): let the kernel choose.
  const port = await listenOn(0, host)
  if (port === null) throw new Error(`cannot listen on ${host}`)
  handedOut.add(port)
  return port
}

/** n distinct free ports on `host`. */
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push(await freePort(host))
  return out
}
