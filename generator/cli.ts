/**
 * The `fixynn` command. Each subcommand lives in its own module under generator/commands/ and is
 * registered here; exit codes: 0 ok, 1 a check failed, 2 bad input or usage.
 */
import { Command, CommanderError } from 'commander';
import { commandRegistry } from './commands/index.js';
import { FixynnError } from './common/errors.js';
import { version } from './common/version.js';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('fixynn')
    .description('FixyNN hardware generator: fixed-weight CNN front ends in Verilog, verified in simulation')
    .version(version)
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  for (const register of commandRegistry) register(program);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors were already printed by commander.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof FixynnError) {
      process.stderr.write(`fixynn: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}
