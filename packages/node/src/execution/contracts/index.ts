import type { Contract } from '../contract.js'
import { kv } from './kv.js'
import { mhealth } from './mhealth.js'

/** The contract types an instance can be deployed as, by name. */
export const CONTRACT_TYPES: Readonly<Record<string, Contract>> = { kv, mhealth }
