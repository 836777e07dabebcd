/**
 * Deterministic contract execution. `executeBlock` turns a block's transactions into results
 * (code, error, return value, sorted write set) against a StateReader; `query` answers
 * read-only questions; `describeContracts` lists the contract types for API docs and CLI help.
 * Same transactions, same state and same BlockContext give the same results, byte for byte.
 */
export { executeBlock, query } from './engine.js'
export { ExecError, QueryError, ResultCode, resultCodeName } from './errors.js'
export { describeContracts, type ContractInfo, type MethodInfo } from './registry.js'
export { LIFECYCLE, SYS, type InstanceRecord } from './system.js'
export type { BlockContext, ScanOptions, StateReader } from './types.js'
export type { EntryRecord, PatientRecord } from './contracts/mhealth.js'
export { MemoryState } from './memory.js'
