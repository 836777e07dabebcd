import { ApiClient } from './client.js'
import { table } from './output.js'

/** A peer's /v1/status, and the table `vigil status` and `vigil testnet up` show of several. */
export interface PeerStatus {
  chainId: string
  node: { index: number; peerId: string }
  height: number
  lastBlockHash: string
  stateRoot: string
  view: number
  primary: number
  syncing: false | { from: number; to: number; current: number }
  peers: Array<{ index: number; peerId: string; connected: boolean }>
}

export async function fetchStatus(url: string): Promise<PeerStatus | { error: string }> {
  try {
    return await new ApiClient(url, 3000).get<PeerStatus>('/v1/status')
  } catch (err) {
    return { error: (err as Error).message }
  }
}

export function statusTable(rows: Array<{ url: string; status: PeerStatus | { error: string } }>): string {
  return table(
    ['peer', 'api', 'height', 'last block', 'view', 'primary', 'syncing', 'peers'],
    rows.map(({ url, status: s }) =>
      'error' in s
        ? ['-', url, '-', 'unreachable', '-', '-', '-', '-']
        : [
            `vp${s.node.index}`,
            url,
            s.height,
            s.lastBlockHash.slice(0, 16),
            s.view,
            `vp${s.primary}`,
            s.syncing === false ? 'no' : `${s.syncing.current}/${s.syncing.to}`,
            `${s.peers.filter((p) => p.connected).length}/${s.peers.length}`,
          ],
    ),
  )
}
