// The command line: builds the commander program, runs it, and is the one place that turns errors
// into a message, a JSON document and an exit code. Command groups live in their own files and load
// their core modules lazily, so that `mas-tool doctor` never loads pg, for example.
import { Command, CommanderError } from 'commander';
import { ExitError, MasToolError } from '../errors.js';
import { Output, type Streams } from '../report/output.js';
import { scrubSecrets } from '../secret.js';
import { registerConfigCommands } from './config.js';
import { EXIT, type CliContext } from './context.js';
import { registerDoctorCommand } from './doctor.js';
import { handleStopSignals, type SignalProcess } from './interrupt.js';
import { registerManageCommands } from './manage.js';
import { globalOptions } from './options.js';
import { registerSyn2masCommands } from './syn2mas.js';
import { VERSION } from './version.js';

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('mas-tool')
    .description('Move a Synapse homeserver to the Matrix Authentication Service (MAS), then check and run it.')
    .version(VERSION, '-V, --version')
    .option('--json', 'write exactly one JSON document to stdout')
    .option('--debug', 'show stack traces and internal details on errors')
    .option('--no-color', 'plain output even on a terminal (NO_COLOR works too)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.streams.stdout.write(s),
      writeErr: (s) => ctx.streams.stderr.write(s),
      // Usage errors are rendered by main(), so that --json gets a JSON document.
      outputError: () => undefined,
    });
  program.configureHelp({ sortSubcommands: false });

  registerConfigCommands(program, ctx);
  registerSyn2masCommands(program, ctx);
  registerDoctorCommand(program, ctx);
  registerManageCommands(program, ctx);
  return program;
}

/**
 * Runs the command line. `signals` is the process when run as the real CLI (bin/mas-tool.js): Ctrl-C,
 * SIGTERM and SIGHUP then cancel and roll back the database work and exit with 128 + the signal.
 */
export async function main(argv: readonly string[], streams: Streams = defaultStreams(), signals?: SignalProcess): Promise<number> {
  let output: Output | undefined;
  const ctx: CliContext = {
    streams,
    exitCode: EXIT.ok,
    output(cmd) {
      output ??= new Output(streams, globalOptions(cmd));
      return output;
    },
  };
  const program = buildProgram(ctx);
  // Decide --json and --debug from argv too, for errors raised before any action runs.
  const early = { json: argv.includes('--json'), debug: argv.includes('--debug'), color: !argv.includes('--no-color') };
  const stop = signals === undefined ? undefined : handleStopSignals(signals, (e) => renderError(e, output ?? new Output(streams, early)));
  try {
    await program.parseAsync([...argv]);
    // The signal came as the work was done (a COMMIT cannot be taken back): its result stands.
    if (stop?.signal !== undefined) (output ?? new Output(streams, early)).note(`${stop.signal} arrived as the command finished; its result above stands.`);
    return ctx.exitCode;
  } catch (error) {
    const code = renderError(stop?.explain(error) ?? error, output ?? new Output(streams, early));
    stop?.exitIfInterrupted(code);
    return code;
  } finally {
    stop?.dispose();
  }
}

function renderError(error: unknown, out: Output): number {
  if (error instanceof ExitError) return error.exitCode;
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') {
      return EXIT.ok;
    }
    // A group run without a subcommand: commander already printed the group's help.
    if (error.code === 'commander.help') return EXIT.usage;
    const message = error.message.replace(/^error: /, '');
    const json = { code: 'MAS_TOOL_USAGE', message, hint: 'Run the command with --help for usage.' };
    if (out.json && !out.jsonWritten) out.writeJson({ ok: false, error: json });
    out.note(`${out.errPaint.red('error:')} ${message}`);
    out.note(out.errPaint.dim('(run with --help for usage)'));
    return EXIT.usage;
  }
  if (error instanceof MasToolError) {
    if (out.json && !out.jsonWritten) out.writeJson({ ok: false, error: error.toJSON() });
    out.note(`${out.errPaint.red('error:')} ${error.message}`);
    if (error.hint !== undefined) out.note(`${out.errPaint.dim('hint:')} ${error.hint}`);
    if (out.debug) out.note(debugTrace(error));
    return error.exitCode;
  }
  // Anything else is a bug in mas-tool, not a user mistake; its text came from outside.
  const message = scrubSecrets(error instanceof Error ? error.message : String(error));
  if (out.json && !out.jsonWritten) {
    out.writeJson({ ok: false, error: { code: 'MAS_TOOL_INTERNAL', message } });
  }
  out.note(`${out.errPaint.red('internal error:')} ${message}`);
  out.note(
    out.debug
      ? debugTrace(error)
      : `This is a bug in mas-tool ${versionLine()}. Rerun with --debug and report the output (it contains no secrets).`,
  );
  return EXIT.failure;
}

function versionLine(): string {
  return `${process.versions.node ? `(node ${process.versions.node})` : ''}`;
}

/** The stack and the chain of causes; the causes' text came from outside (a driver, a library). */
function debugTrace(error: unknown): string {
  const lines: string[] = [];
  let current: unknown = error;
  while (current !== undefined) {
    const text = current instanceof Error ? (current.stack ?? current.message) : String(current);
    lines.push(current instanceof MasToolError ? text : scrubSecrets(text));
    current = current instanceof Error ? current.cause : undefined;
    if (current !== undefined) lines.push('caused by:');
  }
  return lines.join('\n');
}

function defaultStreams(): Streams {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, stdin: process.stdin };
}
