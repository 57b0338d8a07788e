import type { Command } from 'commander';

/** Every subcommand is a function that adds itself to the program. Order here is the order in --help. */
export const commandRegistry: Array<(program: Command) => void> = [];
