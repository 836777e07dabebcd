import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { Level } from 'level'
import { decodeCanonical, encode } from '@vigil/common'

/**
 * Tools for tamper tests: edit a stopped peer's LevelDB behind the store's back, the way an
 * attacker with disk access would, and run the `vigil` command as a separate process.
 */
const VIGIL_BIN = join(dirname(createRequire(import.meta.url).resolve('@vigil/cli/package.json')), 'bin', 'vigil.js')
/** World-state records: 's' | instance | 0 | key -> height(8) | index(4) | canonical CBOR value (see storage keys.ts). */
const P_STATE = 0x73
const VERSION_BYTES = 12

export function stateRecordKey(instance: string, key: string): Buffer {
  return Buffer.concat([Buffer.of(P_STATE), Buffer.from(instance), Buffer.of(0), Buffer.from(key)])
}

/** Rewrites the JSON value of one state record in place, keeping its version; returns the version's height. */
export async function alterStateValue(dataDir: string, instance: string, key: string, change: (v: Record<string, unknown>) => void): Promise<number> {
  const db = new Level<Buffer, Buffer>(dataDir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  try {
    const k = stateRecordKey(instance, key)
    const rec = await db.get(k)
    if (rec === undefined) throw new Error(`no state record ${instance}/${key} in ${dataDir}`)
    const value = decodeCanonical(rec.subarray(VERSION_BYTES), 1 << 20, 'value') as Record<string, unknown>
    change(value)
    await db.put(k, Buffer.concat([rec.subarray(0, VERSION_BYTES), Buffer.from(encode(value))]))
    return rec.readUInt32BE(0) * 2 ** 32 + rec.readUInt32BE(4)
  } finally {
    await db.close()
  }
}

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `vigil <args>` to completion (killed after timeoutMs). */
export function vigil(args: string[], timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VIGIL_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`vigil ${args.join(' ')} did not finish in ${timeoutMs} ms:\n${stdout}\n${stderr}`))
    }, timeoutMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/**
 * Flips one byte inside `needle` (e.g. a transaction's or a certificate's signature) in the one
 * record that holds it, keeping the record's length; returns that record's key. Throws unless
 * exactly one record holds it.
 */
export async function flipBytesIn(dataDir: string, needle: Uint8Array): Promise<Buffer> {
  const db = new Level<Buffer, Buffer>(dataDir, { keyEncoding: 'buffer', valueEncoding: 'buffer' })
  await db.open()
  try {
    const hits: Array<[Buffer, Buffer, number]> = []
    for await (const [k, v] of db.iterator()) {
      const at = v.indexOf(needle)
      if (at >= 0) hits.push([k, v, at])
    }
    if (hits.length !== 1) throw new Error(`${hits.length} records hold the bytes, expected 1`)
    const [k, v, at] = hits[0]!
    const changed = Buffer.from(v)
    changed[at + (needle.byteLength >> 1)]! ^= 0x01
    await db.put(k, changed)
    return k
  } finally {
    await db.close()
  }
}
