import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '@vigil/common'

/** One ed25519 check: does `sig` by `publicKey` verify over `message`? */
export interface SigCheck {
  publicKey: Uint8Array
  message: Uint8Array
  sig: Uint8Array
}

const FIXED = 4 + PUBLIC_KEY_BYTES + SIGNATURE_BYTES

/** True when the check has the sizes a batch carries; any other is simply invalid. */
export const wellFormed = (c: SigCheck): boolean => c.publicKey.byteLength === PUBLIC_KEY_BYTES && c.sig.byteLength === SIGNATURE_BYTES

/**
 * A batch as one buffer ([u32 message length][key][signature][message] per check), so it crosses
 * to a worker as a single transfer instead of a structured clone of three arrays per check.
 */
export function packChecks(checks: readonly SigCheck[]): ArrayBuffer {
  let size = 0
  for (const c of checks) size += FIXED + c.message.byteLength
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  let at = 0
  for (const c of checks) {
    view.setUint32(at, c.message.byteLength)
    out.set(c.publicKey, at + 4)
    out.set(c.sig, at + 4 + PUBLIC_KEY_BYTES)
    out.set(c.message, at + FIXED)
    at += FIXED + c.message.byteLength
  }
  return out.buffer
}

export function* unpackChecks(buf: ArrayBuffer): Generator<SigCheck> {
  const bytes = new Uint8Array(buf)
  const view = new DataView(buf)
  for (let at = 0; at < bytes.byteLength; ) {
    const len = view.getUint32(at)
    const publicKey = bytes.subarray(at + 4, at + 4 + PUBLIC_KEY_BYTES)
    const sig = bytes.subarray(at + 4 + PUBLIC_KEY_BYTES, at + FIXED)
    yield { publicKey, sig, message: bytes.subarray(at + FIXED, at + FIXED + len) }
    at += FIXED + len
  }
}
