import type { Command } from 'commander'
import { generateKeyPair, toHex, writeKeyFile } from '@vigil/common'
import { CliError, printJson } from '../output.js'

export function registerKeyCommands(program: Command): void {
  program
    .command('keygen')
    .description('create an ed25519 key file (mode 0600); prints the public key and, for a validator, its libp2p peer id')
    .requiredOption('--out <file>', 'where to write the key')
    .option('--force', 'overwrite an existing file', false)
    .option('--json', 'print JSON')
    .action(async (o: { out: string; force: boolean; json?: boolean }) => {
      // libp2p's key code, for the peer id: loaded by this command only.
      const { peerIdFromPublicKey } = await import('@vigil/node/identity')
      const pair = generateKeyPair()
      try {
        writeKeyFile(o.out, pair, o.force)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(`${o.out} exists (use --force to overwrite)`)
        throw err
      }
      const out = { file: o.out, publicKey: toHex(pair.publicKey), peerId: peerIdFromPublicKey(pair.publicKey) }
      if (o.json) return printJson(out)
      console.log(`wrote ${out.file}\npublic key: ${out.publicKey}\npeer id (if used as a validator key): ${out.peerId}`)
    })
}
