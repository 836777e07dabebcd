import { NAME_RE, equalBytes } from '@vigil/common'
import { lookup, method, type CallContext, type Contract, type QueryContext } from './contract.js'
import { CONTRACT_TYPES } from './contracts/index.js'
import { ExecError, ResultCode } from './errors.js'
import type { Namespace } from './overlay.js'
import { INSTANCE_PREFIX, instanceKey, type InstanceRecord } from './system.js'
import { object } from './schemas.js'

/**
 * `_lifecycle`: the system instance that deploys contract instances (as Fabric's lifecycle
 * chaincode does). Its `state` is the `_sys` namespace; `namespace` reaches the instance being
 * deployed, so the contract's init writes under the new instance.
 */
export interface SystemContext extends CallContext {
  readonly admins: readonly Uint8Array[]
  readonly namespace: (instance: string) => Namespace
}

const INSTANCE_NAME = { type: 'string', minLength: 1, maxLength: 64 }
const INSTANCES_PAGE = 100

export const lifecycle: Contract<SystemContext> = {
  name: '_lifecycle',
  summary: 'System instance: deploys contract instances (genesis admins only).',
  methods: {
    deploy: method<{ name: string; contract: string; init?: Record<string, unknown> }, SystemContext>({
      summary: 'Creates instance `name` of contract type `contract`, running its init with `init`.',
      args: object({ name: INSTANCE_NAME, contract: { type: 'string', enum: Object.keys(CONTRACT_TYPES).sort() }, init: { type: 'object' } }, ['name', 'contract']),
      records: ['init'],
      run: async ({ tx, state, admins, namespace }, { name, contract, init }) => {
        if (!admins.some((a) => equalBytes(a, tx.signer))) throw new ExecError(ResultCode.UNAUTHORIZED, 'only a genesis admin may deploy')
        if (!NAME_RE.test(name) || name.startsWith('_')) throw new ExecError(ResultCode.BAD_ARGS, `instance name "${name}" must match ${NAME_RE.source} and not start with "_"`)
        if ((await state.get(instanceKey(name))) !== undefined) throw new ExecError(ResultCode.CONFLICT, `instance "${name}" already exists`)
        const type = lookup(CONTRACT_TYPES, contract)
        if (type === undefined) throw new Error(`contract type "${contract}" passed the schema but is not registered`)
        if (init !== undefined) {
          if (type.init === undefined) throw new ExecError(ResultCode.BAD_ARGS, `contract "${contract}" takes no init`)
          await type.init.call({ tx, state: namespace(name) }, init)
        }
        const record: InstanceRecord = { contract, deployer: tx.signerHex, height: tx.height }
        state.put(instanceKey(name), record)
        return { name, ...record }
      },
    }),
  },
  queries: {
    instance: method<{ name: string }, QueryContext>({
      summary: 'The record of one deployed instance.',
      args: object({ name: INSTANCE_NAME }),
      run: async ({ state }, { name }) => {
        const record = await state.get(instanceKey(name))
        if (record === undefined) throw new ExecError(ResultCode.NOT_FOUND, `no instance "${name}"`)
        return { name, ...(record as InstanceRecord) }
      },
    }),
    instances: method<{ after?: string }, QueryContext>({
      summary: `Deployed instances in name order, ${INSTANCES_PAGE} at a time; \`next\` is the \`after\` of the next page, or null.`,
      args: object({ after: INSTANCE_NAME }, []),
      run: async ({ state }, { after }) => {
        // "\0" sorts before every name character, so this starts just past `after`.
        const gte = after === undefined ? INSTANCE_PREFIX : `${instanceKey(after)}\u0000`
        const rows = await state.scan({ prefix: INSTANCE_PREFIX, gte, limit: INSTANCES_PAGE + 1 })
        const page = rows.slice(0, INSTANCES_PAGE).map((r) => ({ name: r.key.slice(INSTANCE_PREFIX.length), ...(r.value as InstanceRecord) }))
        return { instances: page, next: rows.length > INSTANCES_PAGE ? (page.at(-1)?.name ?? null) : null }
      },
    }),
  },
}
