import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** Prometheus metrics of one peer; a registry per peer so several peers can live in one process (tests). */
export class Metrics {
  readonly registry = new Registry()
  readonly height = new Gauge({ name: 'vigil_block_height', help: 'Height of the last committed block', registers: [this.registry] })
  readonly view = new Gauge({ name: 'vigil_consensus_view', help: 'Current PBFT view', registers: [this.registry] })
  readonly viewChanges = new Counter({ name: 'vigil_view_changes_total', help: 'Views this peer moved to', registers: [this.registry] })
  readonly committedTxs = new Counter({ name: 'vigil_committed_transactions_total', help: 'Transactions committed, by result', labelNames: ['result'], registers: [this.registry] })
  readonly batchSize = new Histogram({
    name: 'vigil_batch_size',
    help: 'Transactions per committed block',
    buckets: [0, 1, 10, 50, 100, 250, 500, 1000, 2500],
    registers: [this.registry],
  })
  readonly commitLatency = new Histogram({
    name: 'vigil_commit_latency_seconds',
    help: 'From a transaction reaching this peer to its block being committed here',
    buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  })
  readonly peersConnected = new Gauge({ name: 'vigil_peers_connected', help: 'Validators connected over libp2p', registers: [this.registry] })
  readonly dropped = new Counter({ name: 'vigil_messages_dropped_total', help: 'Messages refused, by reason', labelNames: ['reason'], registers: [this.registry] })
  readonly faults = new Counter({ name: 'vigil_peer_faults_total', help: 'Misbehaviour seen, by validator', labelNames: ['replica'], registers: [this.registry] })
  readonly syncFaults = new Counter({
    name: 'vigil_sync_faults_total',
    help: 'Block sync faults, by the validator blamed and why (unproven-height, empty-answer, short-answer, request-failed, bad-block)',
    labelNames: ['peer', 'reason'],
    registers: [this.registry],
  })
  readonly mempoolSize = new Gauge({ name: 'vigil_mempool_transactions', help: 'Verified transactions waiting to be ordered', registers: [this.registry] })
  readonly syncTarget = new Gauge({ name: 'vigil_sync_target_height', help: 'Height block sync is fetching up to (0 when not syncing)', registers: [this.registry] })
  readonly syncedBlocks = new Counter({ name: 'vigil_synced_blocks_total', help: 'Blocks fetched, verified and stored by block sync', registers: [this.registry] })

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'vigil_' })
  }
}
