import { toHex } from '@vigil/common'
import { decodeMessage } from '../codec.js'
import type { Message } from '../messages.js'

const short = (b: Uint8Array): string => toHex(b).slice(0, 8)

/** One line per message, enough to follow a run by eye. */
export function describeMessage(m: Message): string {
  switch (m.type) {
    case 'preprepare': return `pre-prepare v${m.view} s${m.seq} ${m.batch.requests.length} req t=${m.batch.time} parent=${m.batch.parent ? short(m.batch.parent) : 'null'}`
    case 'prepare':
    case 'commit': return `${m.type} v${m.view} s${m.seq} d=${short(m.digest)}`
    case 'checkpoint': return `checkpoint s${m.seq} h=${short(m.blockHash)}`
    case 'viewchange': return `view-change to v${m.view} by r${m.replica} cp=${m.checkpoint.seq} prepared=[${m.prepared.map((p) => `${p.seq}@v${p.view}`).join(',')}]`
    case 'newview': return `new-view v${m.view} from ${m.viewChanges.map((v) => `r${v.replica}`).join(',')} pre=[${m.pre.map((e) => `${e.seq}:${short(e.digest)}`).join(',')}]`
    case 'status': return `status v${m.view} executed=${m.lastExecuted}`
    case 'committed': return `committed s${m.cert.seq} v${m.cert.view} d=${short(m.cert.digest)}`
    case 'stable': return `stable s${m.cert.seq} h=${short(m.cert.blockHash)}`
    case 'fetch': return `fetch s${m.seq} d=${short(m.digest)}`
    case 'batch': return `batch s${m.seq} d=${short(m.digest)} ${m.batch.requests.length} req`
  }
}

export function describeBytes(bytes: Uint8Array): string {
  try {
    return describeMessage(decodeMessage(bytes, Number.MAX_SAFE_INTEGER))
  } catch (err) {
    return `garbage (${(err as Error).message})`
  }
}

/**
 * The last `size` events of a run, formatted only when a failure is reported. The time is taken
 * when the event is added; `line` must read only what does not change afterwards.
 */
export class Trace {
  private readonly ring: Array<{ at: number; line: () => string }> = []
  private next = 0

  constructor(private readonly size: number) {}

  add(at: number, line: () => string): void {
    if (this.size === 0) return
    const e = { at, line }
    if (this.ring.length < this.size) this.ring.push(e)
    else this.ring[this.next] = e
    this.next = (this.next + 1) % this.size
  }

  lines(): string[] {
    const ordered = this.ring.length < this.size ? this.ring : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)]
    return ordered.map((e) => `${e.at} ${e.line()}`)
  }
}
