// Flags shared by several commands, declared once so they read the same everywhere.
import { type Command, Option } from 'commander';
import { UsageError } from '../errors.js';

/** For repeatable flags: commander calls it once per occurrence. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function addMasConfigOption(cmd: Command): Command {
  return cmd.addOption(
    new Option('-c, --config <path>', 'MAS config file (repeatable; default: $MAS_CONFIG, else ./config.yaml)').argParser(collect),
  );
}

export function addSynapseConfigOption(cmd: Command, required: boolean): Command {
  const text = 'Synapse homeserver.yaml, or a conf.d directory (repeatable, later files win)';
  const option = new Option('--synapse-config <path>', text).argParser(collect);
  if (required) option.makeOptionMandatory();
  return cmd.addOption(option);
}

export function addSynapseDatabaseUriOption(cmd: Command): Command {
  return cmd.option(
    '--synapse-database-uri <uri>',
    'connect to the Synapse database with this libpq URI instead of homeserver.yaml database.args',
  );
}

/** A flag of seconds (--timeout), as a number: positive, or a usage error naming the flag. */
export function positiveSeconds(flag: string, value: string | undefined): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`${flag} must be a positive number of seconds (got "${value}").`);
  return seconds;
}

/** Global flags, available on every command (commander accepts them before or after the subcommand). */
export interface GlobalOptions {
  json: boolean;
  debug: boolean;
  color: boolean;
}

export function globalOptions(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals<{ json?: boolean; debug?: boolean; color?: boolean }>();
  return { json: o.json === true, debug: o.debug === true, color: o.color !== false };
}
