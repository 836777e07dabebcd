import { ValidationError, expectJson, toHex, verifyTx, type Tx, type TxResult } from '@vigil/common'
import { lookup, type Contract, type TxInfo } from './contract.js'
import { CONTRACT_TYPES } from './contracts/index.js'
import { ExecError, QueryError, ResultCode } from './errors.js'
import { lifecycle } from './lifecycle.js'
import { prefetchBlock } from './prefetch.js'
import { BlockOverlay, TxOverlay, readNamespace } from './overlay.js'
import { LIFECYCLE, SYS, instanceKey, nonceKey, type InstanceRecord } from './system.js'
import type { BlockContext, StateReader } from './types.js'

/** The results decoder accepts error strings up to 1024 characters. */
const MAX_ERROR_LENGTH = 1024

/**
 * Executes a block's transactions in order. Each sees the writes of the successful ones before
 * it; a failing one gets its ExecError's code and message, no writes, and the block goes on.
 * Only ExecErrors become results: a storage error, corrupted state or a bug rejects the whole
 * call, since recording it would make this peer's results differ from the others'.
 */
export async function executeBlock(txs: readonly Tx[], ctx: BlockContext, state: StateReader, decided?: Promise<ReadonlyArray<TxResult | null>>): Promise<TxResult[]> {
  const block = new BlockOverlay(state)
  // `decided`: results fixed before execution (a transaction already on the ledger), looked up
  // while the prefetch reads, not before it. Those transactions do not run.
  const [fixed] = await Promise.all([decided, prefetchBlock(txs, block)])
  const results: TxResult[] = []
  for (const [i, tx] of txs.entries()) {
    const known = fixed?.[i]
    if (known) {
      results.push(known)
      continue
    }
    const overlay = new TxOverlay(block)
    const result = await executeTx(tx, ctx, overlay)
    if (result.code === ResultCode.OK) block.apply(overlay)
    results.push(result)
  }
  return results
}

async function executeTx(tx: Tx, ctx: BlockContext, overlay: TxOverlay): Promise<TxResult> {
  try {
    const ret = expectJson((await runTx(tx, ctx, overlay)) ?? null, 'method result')
    return { code: ResultCode.OK, error: null, ret, writes: overlay.writes() }
  } catch (err) {
    if (!(err instanceof ExecError)) throw err
    return { code: err.code, error: truncate(err.message), ret: null, writes: [] }
  }
}

async function runTx(tx: Tx, ctx: BlockContext, overlay: TxOverlay): Promise<unknown> {
  const { body } = tx
  // Unless this peer already checked it (ctx.verified), the signature is checked here: a forged
  // transaction never executes, and re-execution of synced blocks checks every one again.
  try {
    if (ctx.verified?.(tx) !== true) verifyTx(tx, ctx.chainId, ctx.txVersion)
  } catch (err) {
    if (err instanceof ValidationError) throw new ExecError(ResultCode.UNAUTHORIZED, err.message)
    throw err
  }
  const info: TxInfo = { signer: body.signer, signerHex: toHex(body.signer), id: toHex(tx.id), height: ctx.height, time: ctx.time }
  const nonce = nonceKey(info.signerHex, body.nonce)
  if ((await overlay.get(SYS, nonce)) !== undefined) throw new ExecError(ResultCode.CONFLICT, `nonce "${body.nonce}" was already used by this signer`)
  // Written only if the transaction succeeds: a failed one can be sent again with its nonce.
  overlay.put(SYS, nonce, ctx.height)

  if (body.instance === LIFECYCLE) {
    return find(lifecycle.methods, LIFECYCLE, body.method, 'method').call({ tx: info, state: overlay.namespace(SYS), admins: ctx.admins, namespace: (name) => overlay.namespace(name) }, body.args)
  }
  const contract = contractOf(body.instance, await overlay.get(SYS, instanceKey(body.instance)))
  return find(contract.methods, body.instance, body.method, 'method').call({ tx: info, state: overlay.namespace(body.instance) }, body.args)
}

/**
 * Answers a read-only query against committed state. Throws a QueryError for a request that
 * cannot be answered (unknown instance or query, bad arguments, missing record).
 */
export async function query(instance: string, method: string, args: Record<string, unknown>, state: StateReader): Promise<unknown> {
  try {
    const sys = readNamespace(state, SYS)
    if (instance === LIFECYCLE) return await find(lifecycle.queries, LIFECYCLE, method, 'query').call({ state: sys }, args)
    const contract = contractOf(instance, await sys.get(instanceKey(instance)))
    return await find(contract.queries, instance, method, 'query').call({ state: readNamespace(state, instance) }, args)
  } catch (err) {
    if (err instanceof ExecError) throw new QueryError(err)
    throw err
  }
}

/** The contract type of a deployed instance, from its record in `_sys`. */
function contractOf(instance: string, record: unknown): Contract {
  if (record === undefined) throw new ExecError(ResultCode.NOT_FOUND, `no instance "${instance}"`)
  const { contract } = record as InstanceRecord
  const type = lookup(CONTRACT_TYPES, contract)
  // A type this build does not know cannot be executed like the other peers do: stop.
  if (type === undefined) throw new Error(`instance "${instance}" has contract type "${contract}", which this node does not have`)
  return type
}

function find<T>(table: Readonly<Record<string, T>>, instance: string, name: string, kind: 'method' | 'query'): T {
  const found = lookup(table, name)
  if (found === undefined) throw new ExecError(ResultCode.NOT_FOUND, `instance "${instance}" has no ${kind} "${name}"`)
  return found
}

function truncate(message: string): string {
  if (message.length <= MAX_ERROR_LENGTH) return message
  // Never split a surrogate pair: a lone surrogate does not survive UTF-8 encoding.
  const cut = message.slice(0, MAX_ERROR_LENGTH - 1)
  return (/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut) + '…'
}
