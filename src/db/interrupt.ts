// Letting go of the databases at once when mas-tool is told to stop (Ctrl-C, SIGTERM, SIGHUP). Every
// client connect() opens is tracked here until it ends. On a stop, each one gets PostgreSQL's cancel
// request for the statement it is running and, once that statement has ended, the goodbye message
// (Terminate): the backend rolls the transaction back and exits within milliseconds, instead of
// finishing a long statement (an index build, a foreign key check) for a client that is gone,
// holding the transaction's locks meanwhile. The command's own code then sees its query fail and
// unwinds as after any database error; the CLI (src/cli/interrupt.ts) says what happened instead.
//
// Nothing here listens to signals: the CLI decides when to stop.
import { connect as netConnect, type Socket } from 'node:net';
import type pg from 'pg';
import { MasToolError } from '../errors.js';

/** Where a client's server listens, for the cancel request (a separate connection to it). */
export interface CancelAddress {
  host: string;
  port: number;
}

/** 128 + the signal's number, as a shell reports a process stopped by it. */
export const SIGNAL_EXIT_CODES = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;
export type StopSignal = keyof typeof SIGNAL_EXIT_CODES;

/** What a stop found open: database work that was rolled back, none, or work left to PostgreSQL. */
export type StopOutcome = 'rolled-back' | 'no-transaction' | 'abandoned';

const MESSAGES: Record<StopOutcome, (signal: StopSignal) => string> = {
  'rolled-back': (s) => `Interrupted by ${s}: the database work in progress was cancelled and rolled back; nothing was changed.`,
  'no-transaction': (s) => `Interrupted by ${s}; no database transaction was open.`,
  abandoned: (s) =>
    `Interrupted again by ${s}: exiting without waiting for the rollback; PostgreSQL rolls the open transaction back when it notices the connection is gone (within seconds on PostgreSQL 14 and later).`,
};

const HINTS: Record<StopOutcome, string> = {
  'rolled-back': 'Run the command again when ready: it starts from the beginning.',
  'no-transaction': 'Run the command again when ready.',
  abandoned: "If the database still shows a session with application_name 'mas-tool' or 'mas-tool-synapse', end it (see the README's Reliability section).",
};

interface Tracked {
  client: pg.Client;
  address: CancelAddress;
}

const open = new Map<pg.Client, Tracked>();
let stopping: StopSignal | undefined;

/** The command was stopped by a signal; the exit code is 128 + the signal's number. */
export class InterruptedError extends MasToolError {
  /** `committedBefore` names what earlier transactions of the command had already written. */
  constructor(signal: StopSignal, outcome: StopOutcome, committedBefore?: string) {
    const message = MESSAGES[outcome](signal);
    super('MAS_TOOL_INTERRUPTED', committedBefore === undefined ? message : message.replace(/nothing was changed\.$/, `nothing else was changed (${committedBefore}).`), {
      hint: HINTS[outcome],
      exitCode: SIGNAL_EXIT_CODES[signal],
      details: { signal, outcome },
    });
  }
}

/**
 * After a stop, the command's queries fail ("canceling statement due to user request", "Client was
 * closed"): what it should report is the interruption, not that failure.
 */
export function asInterruption(error: unknown, committedBefore?: string): unknown {
  if (stopping === undefined || error instanceof InterruptedError) return error;
  return new InterruptedError(stopping, 'rolled-back', committedBefore);
}

/** How many clients are open right now. */
export function openClients(): number {
  return open.size;
}

/** Called by connect() for each new client. After a stop no new connection is let through. */
export function trackClient(client: pg.Client, address: CancelAddress): void {
  if (stopping !== undefined) {
    void client.end().catch(() => undefined);
    throw new InterruptedError(stopping, 'rolled-back');
  }
  open.set(client, { client, address });
  client.once('end', () => open.delete(client));
}

/**
 * Cancels, rolls back and closes every open client. Resolves when each backend has closed the
 * connection, or after `deadlineMs` with the sockets of the stragglers cut (a statement that does
 * not react to the cancel: PostgreSQL then ends it when it notices, see connect()).
 */
export async function releaseAll(signal: StopSignal, deadlineMs: number): Promise<void> {
  stopping ??= signal;
  await Promise.all([...open.values()].map((t) => release(t, deadlineMs)));
}

/** Cuts every open connection without waiting (a second Ctrl-C): the server rolls back on its own. */
export function abandonAll(signal: StopSignal): void {
  stopping ??= signal;
  for (const { client } of open.values()) client.connection.stream.destroy();
}

function release({ client, address }: Tracked, deadlineMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      client.connection.stream.destroy();
      resolve();
    }, deadlineMs);
    client.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
    // The goodbye message ends the session; PostgreSQL rolls back its open transaction as it does,
    // and from here on the driver refuses every statement, so nothing the command still sends can
    // run outside that transaction.
    const goodbye = (): void => void client.end().catch(() => undefined);
    if (isIdle(client)) return goodbye();
    const keys = backendKeys(client);
    if (keys !== undefined) sendCancelRequest(address, keys, deadlineMs);
    // Once the cancelled statement has ended. The driver's own listener, which settles the statement,
    // runs first; the command hears of it only in a later promise callback, after the goodbye.
    client.connection.once('readyForQuery', goodbye);
  });
}

/** Fields node-postgres keeps without types: the session's cancel keys, and whether a statement is out. */
interface DriverState {
  processID?: unknown;
  secretKey?: unknown;
  readyForQuery?: unknown;
}

function isIdle(client: pg.Client): boolean {
  return (client as unknown as DriverState).readyForQuery === true;
}

function backendKeys(client: pg.Client): { pid: number; key: number } | undefined {
  const { processID, secretKey } = client as unknown as DriverState;
  return typeof processID === 'number' && typeof secretKey === 'number' ? { pid: processID, key: secretKey } : undefined;
}

/** PostgreSQL's CancelRequest message: length 16, the code 80877102, the process id and secret key. */
export function cancelRequestMessage(pid: number, key: number): Buffer {
  const message = Buffer.alloc(16);
  message.writeInt32BE(16, 0);
  message.writeInt32BE(80877102, 4);
  message.writeInt32BE(pid, 8);
  message.writeInt32BE(key, 12);
  return message;
}

/**
 * Sends the cancel request on a connection of its own, as libpq's PQcancel does (in plain text: the
 * server reads it before any TLS or authentication). Best effort: whatever fails, the ROLLBACK and
 * the deadline still end the session.
 */
function sendCancelRequest(address: CancelAddress, keys: { pid: number; key: number }, timeoutMs: number): void {
  const socket: Socket = address.host.startsWith('/')
    ? netConnect(`${address.host}/.s.PGSQL.${address.port}`)
    : netConnect(address.port, address.host);
  socket.setTimeout(timeoutMs, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.once('connect', () => socket.end(cancelRequestMessage(keys.pid, keys.key)));
}
