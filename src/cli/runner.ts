// The steps every command action repeats, in one place, so that each handler in src/cli keeps only
// what is particular to it: the configs it reads (their parsers loaded lazily, so that a command
// loads only what it uses), and the end of the action: one JSON document with --json or the human
// lines, and the exit code. Errors are not handled here: they go up to main.ts.
import type { Command } from 'commander';
import type { ParsedMasConfig } from '../config/mas.js';
import type { ParsedSynapseConfig } from '../config/synapse.js';
import type { Output } from '../report/output.js';
import type { CliContext } from './context.js';

/** How an action ends. */
export interface CommandResult {
  exitCode: number;
  /** The --json document; built only with --json. */
  json(): unknown;
  /** The lines for stdout without --json; absent when the action wrote its product itself. */
  human?(): readonly string[];
}

/**
 * A commander action: `run` gets the command's Output and the arguments commander passed (positional
 * arguments, then the flags), and returns how it ends; the runner writes that and sets the exit code.
 */
export function commandAction<A extends unknown[]>(ctx: CliContext, run: (out: Output, ...args: A) => Promise<CommandResult>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    const out = ctx.output(cmd);
    const result = await run(out, ...(args.slice(0, -1) as A));
    if (out.json) out.writeJson(result.json());
    else if (result.human !== undefined) out.print(result.human().join('\n'));
    ctx.exitCode = result.exitCode;
  };
}

/** The MAS config from -c (repeatable), else $MAS_CONFIG, else ./config.yaml. */
export async function readMasConfig(ctx: CliContext, paths: readonly string[] | undefined): Promise<ParsedMasConfig> {
  const { loadMasConfigFiles, resolveMasConfigPaths } = await import('../config/read.js');
  const { parseMasConfig } = await import('../config/mas.js');
  return parseMasConfig(loadMasConfigFiles(resolveMasConfigPaths(paths ?? [], ctx.streams.env)));
}

/** homeserver.yaml and its conf.d directories from --synapse-config (repeatable), merged as Synapse merges them. */
export async function readSynapseConfig(paths: readonly string[]): Promise<ParsedSynapseConfig> {
  const { loadSynapseConfigFiles } = await import('../config/read.js');
  const { parseSynapseConfig } = await import('../config/synapse.js');
  return parseSynapseConfig(loadSynapseConfigFiles(paths));
}
