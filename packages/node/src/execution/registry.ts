import type { SchemaObject } from 'ajv'
import type { Contract, Method } from './contract.js'
import { CONTRACT_TYPES } from './contracts/index.js'
import { lifecycle } from './lifecycle.js'

/** Plain JSON descriptions of the contract types, for the OpenAPI document and CLI help. */
export interface MethodInfo {
  name: string
  summary: string
  /** JSON Schema of the named arguments. */
  args: SchemaObject
}

export interface ContractInfo {
  name: string
  summary: string
  /** True for `_lifecycle`: one fixed instance, not deployable. */
  system: boolean
  /** Schema of the deploy's `init` argument, or null if the type takes none. */
  init: SchemaObject | null
  methods: MethodInfo[]
  queries: MethodInfo[]
}

function describeMethods(table: Readonly<Record<string, Method<never>>>): MethodInfo[] {
  return Object.keys(table)
    .sort()
    .map((name) => ({ name, summary: table[name]!.summary, args: table[name]!.args }))
}

function describe(contract: Contract<never>, system: boolean): ContractInfo {
  return {
    name: contract.name,
    summary: contract.summary,
    system,
    init: contract.init?.args ?? null,
    methods: describeMethods(contract.methods),
    queries: describeMethods(contract.queries),
  }
}

/** `_lifecycle` first, then the deployable types by name. */
export function describeContracts(): ContractInfo[] {
  const types = Object.keys(CONTRACT_TYPES)
    .sort()
    .map((name) => describe(CONTRACT_TYPES[name]!, false))
  return [describe(lifecycle, true), ...types]
}
