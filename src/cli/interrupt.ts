// What mas-tool does when it is told to stop (Ctrl-C, SIGTERM from a service manager, SIGHUP from a
// closed terminal): let go of the databases at once (src/db/interrupt.ts cancels the running
// statement, rolls back and closes), let the command unwind, say so in one line (or the one JSON
// document) and exit with 128 + the signal's number. A second signal exits at once. The only place
// that listens to signals; main() installs it around a run of the real command line.
import { ExitError } from '../errors.js';
import { abandonAll, asInterruption, InterruptedError, openClients, releaseAll, SIGNAL_EXIT_CODES, type StopSignal } from '../db/interrupt.js';

/** The part of `process` this needs; main() gets it from bin/mas-tool.js. */
export interface SignalProcess {
  on(signal: StopSignal, listener: () => void): unknown;
  off(signal: StopSignal, listener: () => void): unknown;
  exit(code: number): never;
  stdout?: { on?(event: 'error', listener: () => void): unknown };
  stderr?: { on?(event: 'error', listener: () => void): unknown };
}

/** Time for the cancel, the rollback and the goodbye; past it the connections are cut. */
const RELEASE_DEADLINE_MS = 3_000;
/** Time for the command to unwind after that, before exiting without it. */
const UNWIND_DEADLINE_MS = 2_000;

export interface StopHandling {
  /** The signal received, if any. */
  readonly signal: StopSignal | undefined;
  /** The error to report for a command that failed: the interruption, when there was one. */
  explain(error: unknown): unknown;
  /** Exits with the interruption's code when there was one (something may still keep the process alive). */
  exitIfInterrupted(code: number): void;
  dispose(): void;
}

/** Installs the handlers; `report` renders an interruption (a line on stderr, or the JSON document). */
export function handleStopSignals(proc: SignalProcess, report: (error: InterruptedError) => number): StopHandling {
  let received: StopSignal | undefined;
  let giveUp: NodeJS.Timeout | undefined;
  const stopNow = (error: InterruptedError): never => proc.exit(report(error));
  const onSignal = (signal: StopSignal): void => {
    if (signal === 'SIGHUP') {
      // The terminal is gone: writing to it fails, and a failed write must not crash the rollback.
      proc.stdout?.on?.('error', () => undefined);
      proc.stderr?.on?.('error', () => undefined);
    }
    if (received !== undefined) {
      abandonAll(signal);
      stopNow(new InterruptedError(signal, 'abandoned'));
    }
    received = signal;
    if (openClients() === 0) stopNow(new InterruptedError(signal, 'no-transaction'));
    void releaseAll(signal, RELEASE_DEADLINE_MS).then(() => {
      // The command sees its queries fail and unwinds; one waiting on something else is left behind.
      giveUp = setTimeout(() => stopNow(new InterruptedError(signal, 'rolled-back')), UNWIND_DEADLINE_MS);
    });
  };
  const listeners = (Object.keys(SIGNAL_EXIT_CODES) as StopSignal[]).map((signal) => {
    const listener = (): void => onSignal(signal);
    proc.on(signal, listener);
    return { signal, listener };
  });
  return {
    get signal() {
      return received;
    },
    explain(error) {
      // An ExitError was already rendered (a bulk manage command closes its JSON document itself).
      return error instanceof ExitError ? error : asInterruption(error);
    },
    exitIfInterrupted(code) {
      if (received !== undefined) proc.exit(code);
    },
    dispose() {
      clearTimeout(giveUp);
      for (const { signal, listener } of listeners) proc.off(signal, listener);
    },
  };
}
