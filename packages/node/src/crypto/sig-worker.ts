import { parentPort } from 'node:worker_threads'
import { verifySignature } from '@vigil/common'
import { unpackChecks } from './sig-batch.js'

/** Worker of the SigPool: verifies a packed batch, answers one byte per check (1 = valid). */
const port = parentPort!
port.on('message', ({ id, count, buf }: { id: number; count: number; buf: ArrayBuffer }) => {
  const ok = new Uint8Array(count)
  let i = 0
  for (const c of unpackChecks(buf)) ok[i++] = verifySignature(c.publicKey, c.message, c.sig) ? 1 : 0
  port.postMessage({ id, ok }, [ok.buffer])
})
