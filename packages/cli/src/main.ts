import { Command, CommanderError } from 'commander'
import { VigilError } from '@vigil/common'
import { ApiRequestError } from './client.js'
import { registerAuditCommands } from './commands/audit.js'
import { registerBenchCommand } from './commands/bench.js'
import { registerClientCommands } from './commands/client-commands.js'
import { registerKeyCommands } from './commands/keys.js'
import { registerNodeCommands } from './commands/node.js'
import { registerTestnetCommands } from './commands/testnet.js'
import { CliError } from './output.js'

/** The `vigil` command: operators run peers and testnets with it, clients submit and read. */
const program = new Command()
  .name('vigil')
  .description('Vigil: a permissioned PBFT ledger for tamper-resistant health records')
  .showHelpAfterError()
  .exitOverride()

registerKeyCommands(program)
registerTestnetCommands(program)
registerNodeCommands(program)
registerClientCommands(program)
registerBenchCommand(program)
registerAuditCommands(program)

try {
  await program.parseAsync(process.argv)
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode)
  const known = err instanceof CliError || err instanceof VigilError || err instanceof ApiRequestError
  process.stderr.write(`error: ${known ? (err as Error).message : ((err as Error).stack ?? String(err))}\n`)
  process.exit(err instanceof CliError ? err.exitCode : 1)
}
