/** Tamper evidence: proof bundles, ledger audits (offline, online, across peers) and store self-repair. */
export * from './proof-bundle.js'
export { certifiedProof, type CertifiedProof } from './certified-proof.js'
export { auditStore, replayLedger, replayInto, freshStore, storeSource, certificateChecker, AuditFailure, type AuditReport, type Problem, type BlockSource, type Progress } from './ledger-audit.js'
export { auditPeer, apiSource, comparePeers, rawBlockOf } from './api-source.js'
export { checkStore, locateDamage, rebuildStore, describeProblem } from './store-repair.js'
