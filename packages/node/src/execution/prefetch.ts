import { toHex, type Tx } from '@vigil/common'
import { lookup } from './contract.js'
import { CONTRACT_TYPES } from './contracts/index.js'
import type { BlockOverlay } from './overlay.js'
import { LIFECYCLE, SYS, instanceKey, nonceKey, type InstanceRecord } from './system.js'

/**
 * Reads a block's likely keys in two storage round trips before executing it: first every
 * transaction's nonce and instance record, then the keys each method says it reads. Without
 * it, execution waits on one LevelDB lookup at a time (about three per transaction). Only a
 * cache fill: execution reads through the same overlay and its results are unchanged.
 */
export async function prefetchBlock(txs: readonly Tx[], block: BlockOverlay): Promise<void> {
  const system = txs.flatMap((tx) => {
    const keys = [{ instance: SYS, key: nonceKey(toHex(tx.body.signer), tx.body.nonce) }]
    if (tx.body.instance !== LIFECYCLE) keys.push({ instance: SYS, key: instanceKey(tx.body.instance) })
    return keys
  })
  await block.preload(system)
  const own = txs.flatMap((tx) => {
    const { instance, method, args } = tx.body
    if (instance === LIFECYCLE) return []
    const record = block.peek(SYS, instanceKey(instance)) as InstanceRecord | undefined
    const type = record === undefined ? undefined : lookup(CONTRACT_TYPES, record.contract)
    const m = type === undefined ? undefined : lookup(type.methods, method)
    return (m?.reads?.(args) ?? []).map((key) => ({ instance, key }))
  })
  await block.preload(own)
}
