import type { Command } from 'commander';
import { registerInspect } from './inspect.js';
import { registerEval } from './eval.js';
import { registerGenerate } from './generate.js';
import { registerVerify } from './verify.js';
import { registerCompile } from './compile.js';
import { registerSynth } from './synth.js';
import { registerSweep } from './sweep.js';
import { registerReport } from './report.js';

/** Every subcommand is a function that adds itself to the program. Order here is the order in --help. */
export const commandRegistry: Array<(program: Command) => void> = [registerInspect, registerEval, registerGenerate, registerCompile, registerVerify, registerSynth, registerSweep, registerReport];
