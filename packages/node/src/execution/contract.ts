import type { SchemaObject } from 'ajv'
import type { Namespace, ReadNamespace } from './overlay.js'
import { compileArgs, type RecordFields } from './schemas.js'

/** The transaction a method runs for. Block time is the only clock a contract may read. */
export interface TxInfo {
  readonly signer: Uint8Array
  readonly signerHex: string
  /** Transaction id in hex. */
  readonly id: string
  readonly height: number
  readonly time: number
}

export interface CallContext {
  readonly tx: TxInfo
  /** The called instance's own keys; a contract cannot reach another instance. */
  readonly state: Namespace
}

export interface QueryContext {
  readonly state: ReadNamespace
}

export interface Method<C> {
  readonly summary: string
  /** JSON Schema of the named arguments (also published for the API doc and CLI help). */
  readonly args: SchemaObject
  /** Checks the arguments against `args` (ExecError on failure), then runs; resolves to the JSON result. */
  call(ctx: C, args: unknown): Promise<unknown>
  /** Keys of its instance the method will read, guessed from unchecked arguments (a prefetch hint only). */
  reads?(args: Record<string, unknown>): string[]
}

export interface MethodSpec<A, C> {
  summary: string
  args: SchemaObject
  /** Argument fields holding a record whose violations are SCHEMA rather than BAD_ARGS. */
  records?: RecordFields
  /** Prefetch hint: keys the method reads, from the raw arguments; a wrong guess costs a read, nothing else. */
  reads?(args: Record<string, unknown>): string[]
  run(ctx: C, args: A): Promise<unknown>
}

/** Defines a method; its schema is compiled here, once, when the contract module loads. */
export function method<A, C = CallContext>(spec: MethodSpec<A, C>): Method<C> {
  const check = compileArgs<A>(spec.args, spec.records)
  return { summary: spec.summary, args: spec.args, call: (ctx, args) => spec.run(ctx, check(args)), reads: spec.reads }
}

/** A contract type: deployed as any number of instances, each with its own keys. */
export interface Contract<C extends CallContext = CallContext> {
  readonly name: string
  readonly summary: string
  /** Runs once at deploy with the deploy's `init` argument; without it, `init` is refused. */
  readonly init?: Method<CallContext>
  readonly methods: Readonly<Record<string, Method<C>>>
  readonly queries: Readonly<Record<string, Method<QueryContext>>>
}

/** Own properties only, so a method named "constructor" or "__proto__" is simply unknown. */
export function lookup<T>(table: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined
}
