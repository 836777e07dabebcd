import { open as openFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { HASH_BYTES, equalBytes, toHex } from '@vigil/common'
import { dbGet, type Db } from './db.js'
import { blockKey, headerKey, readU64, writeU64 } from './keys.js'
import { LeafCursor, StateTree } from './merkle/tree.js'
import { decodeStoredBlock, decodeStoredHeader, type Head } from './records.js'
import { planWrites } from './validate.js'

/**
 * State tree snapshots, so a store with millions of keys opens without hashing every state
 * record again. The file holds the leaves of the tree at one height (keyHash | valueHash, in key
 * order); it is never trusted: loading rebuilds every leaf and inner hash from those pairs, the
 * root must equal the state root in that height's header, and the blocks after it are replayed
 * with each header's state root checked, ending at the head's. Anything else (a torn, stale,
 * edited or foreign file) is rejected and the store rebuilds the tree from the state records.
 *
 * It is a file beside LevelDB's, not records in the block batch: at 1M keys it is 64 MB, which
 * would stall the commit that carried it, and since it is verified at open it needs no
 * atomicity with the blocks. Written in the background from a pinned tree version, in 1 MB
 * chunks, then fsynced and renamed into place.
 */
export const SNAPSHOT_FILE = 'state-tree.snapshot'
const MAGIC = new TextEncoder().encode('VGSNAP01')
const HEADER_BYTES = MAGIC.length + 8 + HASH_BYTES + 8
const PAIR_BYTES = 2 * HASH_BYTES
const CHUNK_PAIRS = 16 * 1024

/** Writes the tree as it is now (height = the head's) while commits go on. */
export async function writeSnapshot(dir: string, tree: StateTree, height: number): Promise<void> {
  const { version, release } = tree.pin()
  const path = join(dir, SNAPSHOT_FILE)
  const tmp = `${path}.tmp`
  try {
    const fh = await openFile(tmp, 'w')
    try {
      const head = Buffer.alloc(HEADER_BYTES)
      head.set(MAGIC)
      writeU64(head, MAGIC.length, height)
      head.set(version.root, MAGIC.length + 8)
      writeU64(head, MAGIC.length + 8 + HASH_BYTES, version.size)
      await fh.write(head)
      const cursor = new LeafCursor(version)
      const chunk = Buffer.alloc(CHUNK_PAIRS * PAIR_BYTES)
      for (let n = tree.exportLeaves(cursor, chunk); n > 0; n = tree.exportLeaves(cursor, chunk)) await fh.write(chunk, 0, n * PAIR_BYTES)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, path)
    const d = await openFile(dir, 'r')
    await d.sync().finally(() => d.close())
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  } finally {
    release()
  }
}

export class SnapshotRejected extends Error {}

function reject(msg: string): never {
  throw new SnapshotRejected(msg)
}

/**
 * The tree at the head from the snapshot plus the blocks after it; null if there is no
 * snapshot file. Throws SnapshotRejected saying why the file cannot be used.
 */
export async function loadSnapshot(db: Db, dir: string, head: Head): Promise<{ tree: StateTree; height: number; replayed: number } | null> {
  let fh
  try {
    fh = await openFile(join(dir, SNAPSHOT_FILE), 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  const tree = new StateTree()
  let height: number
  let fileRoot: Uint8Array
  try {
    const hb = Buffer.alloc(HEADER_BYTES)
    const { size } = await fh.stat()
    if ((await fh.read(hb, 0, HEADER_BYTES, 0)).bytesRead !== HEADER_BYTES || !equalBytes(hb.subarray(0, MAGIC.length), MAGIC)) reject('not a snapshot file')
    height = readU64(hb, MAGIC.length)
    fileRoot = hb.subarray(MAGIC.length + 8, MAGIC.length + 8 + HASH_BYTES)
    const count = readU64(hb, MAGIC.length + 8 + HASH_BYTES)
    if (height > head.height) reject(`snapshot height ${height} is beyond the head ${head.height}`)
    if (size !== HEADER_BYTES + count * PAIR_BYTES) reject(`${size} bytes for ${count} leaves`)
    tree.reserveLeaves(count)
    const chunk = Buffer.alloc(CHUNK_PAIRS * PAIR_BYTES)
    for (let done = 0; done < count; ) {
      const want = Math.min(CHUNK_PAIRS, count - done) * PAIR_BYTES
      if ((await fh.read(chunk, 0, want, HEADER_BYTES + done * PAIR_BYTES)).bytesRead !== want) reject('file is shorter than it says')
      for (let o = 0; o < want; o += PAIR_BYTES) tree.addLeaf(chunk.subarray(o, o + HASH_BYTES), chunk.subarray(o + HASH_BYTES, o + PAIR_BYTES))
      done += want / PAIR_BYTES
    }
  } finally {
    await fh.close()
  }
  try {
    tree.finishLoad()
  } catch (err) {
    reject((err as Error).message)
  }
  if (!equalBytes(tree.root(), fileRoot)) reject('the leaves do not hash to the root the file names')
  await expectRoot(db, tree, height)
  for (let h = height + 1; h <= head.height; h++) {
    const bytes = await dbGet(db, blockKey(h), `block ${h}`)
    if (bytes === undefined) reject(`block ${h} is missing`)
    const block = decodeStoredBlock(bytes, h)
    tree.adopt(tree.prepare(planWrites(block.results, h)))
    await expectRoot(db, tree, h)
  }
  if (!equalBytes(tree.root(), head.stateRoot)) reject(`root ${toHex(tree.root())} is not the head's state root`)
  return { tree, height, replayed: head.height - height }
}

async function expectRoot(db: Db, tree: StateTree, height: number): Promise<void> {
  const b = await dbGet(db, headerKey(height), `header ${height}`)
  if (b === undefined) reject(`header ${height} is missing`)
  const stateRoot = decodeStoredHeader(b, height).stateRoot
  if (!equalBytes(tree.root(), stateRoot)) reject(`tree root ${toHex(tree.root())} at height ${height} is not the header's state root ${toHex(stateRoot)}`)
}
