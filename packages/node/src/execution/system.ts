/**
 * The system namespace `_sys`: instance records and used nonces. Its writes go into results
 * and the state root like any other, so replay protection and deployments are provable.
 * Names starting with "_" cannot be deployed, so no contract instance can collide with it.
 */
export const SYS = '_sys'
/** The system instance that deploys contract instances. */
export const LIFECYCLE = '_lifecycle'

/** The signer's key is fixed-length hex, so the nonce after it needs no escaping. */
export const nonceKey = (signerHex: string, nonce: string): string => `nonce/${signerHex}/${nonce}`

export const INSTANCE_PREFIX = 'instance/'
export const instanceKey = (name: string): string => INSTANCE_PREFIX + name

export interface InstanceRecord {
  contract: string
  /** Public key (hex) of the admin who deployed it. */
  deployer: string
  height: number
}
