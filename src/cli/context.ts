// What every command file of src/cli shares with main.ts: the exit codes and the context an action
// gets. Kept apart from main.ts so that main.ts only wires the commands and the command files do not
// import it back (no import cycle).
import type { Command } from 'commander';
import type { Output, Streams } from '../report/output.js';

export const EXIT = {
  ok: 0,
  /** The command could not run: bad config, unreachable database, unexpected failure. */
  failure: 1,
  /** Command-line usage mistake, or a command not available in this version. */
  usage: 2,
  /** Findings of severity error. */
  errors: 10,
  /** Warnings only (not accepted). */
  warnings: 11,
} as const;

/** Shared by command actions: where to write, and the exit code the action chose. */
export interface CliContext {
  streams: Streams;
  output(cmd: Command): Output;
  exitCode: number;
}
