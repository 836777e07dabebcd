import type { Command } from 'commander'
import { applyMallocSettings, tuneV8Heap } from '@vigil/node/process-memory'

const STOP_GRACE_MS = 8000

export function registerNodeCommands(program: Command): void {
  const node = program.command('node').description('run a validating peer')
  node
    .command('start')
    .description('run one peer in the foreground until SIGINT/SIGTERM')
    .requiredOption('--home <dir>', 'peer home directory (holds config.json)')
    .option('--full-check', 'check the whole ledger at start-up, not just the recent blocks and head state')
    .action(async (o: { home: string; fullCheck?: boolean }) => {
      // First: it may re-execute this process with malloc settings (see process-memory.ts),
      // so the daemon's code (libp2p, fastify...) is imported only after it.
      const mallocWarning = applyMallocSettings()
      tuneV8Heap()
      const { createLogger, loadConfig, startNode } = await import('@vigil/node')
      const cfg = loadConfig(o.home)
      const pretty = process.stdout.isTTY ? (await import('pino-pretty')).default({ colorize: true }) : undefined
      const log = createLogger(cfg.log.level, { node: `vp${cfg.index}` }, pretty)
      if (mallocWarning !== null) log.warn(mallocWarning)
      const peer = await startNode(cfg, log, { fullCheck: o.fullCheck === true })
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info({ signal }, 'stopping')
          // A second signal, or a stop that hangs, must not leave the process running.
          const force = setTimeout(() => {
            log.error('clean stop timed out; exiting')
            process.exit(1)
          }, STOP_GRACE_MS)
          force.unref()
          peer.stop().then(resolve, (err: unknown) => {
            log.error({ err }, 'error while stopping')
            process.exitCode = 1
            resolve()
          })
        }
        process.once('SIGINT', () => stop('SIGINT'))
        process.once('SIGTERM', () => stop('SIGTERM'))
      })
      log.info('stopped')
    })
}
