// What every `mas-tool manage` subcommand shares: opening the backend the flags and the MAS config
// call for (and closing it), reading users from arguments or --from-file, reading a password, reading
// Synapse's admins, and rendering the result with the exit code. Bulk commands print each batch's
// results as soon as it is done (the --json document too, in pieces), so nothing is held for the end.
import type { Command } from 'commander';
import { ExitError, MasToolError, UsageError } from '../errors.js';
import type { BulkInput } from '../manage/commands/batches.js';
import type { ItemSink, ManageContext } from '../manage/commands/context.js';
import type { ManageBackend } from '../manage/backend.js';
import type { InputColumns } from '../manage/input-file.js';
import type { SynapseAdmin } from '../manage/synapse-admins.js';
import type { ItemResult, ManageResult } from '../manage/model.js';
import { asInterruption } from '../db/interrupt.js';
import type { HttpClient, HttpClientOptions } from '../http/client.js';
import type { Output } from '../report/output.js';
import { scrubSecrets, scrubStrongSecrets, type Secret } from '../secret.js';
import { EXIT, type CliContext } from './context.js';
import { positiveSeconds } from './options.js';
import { readMasConfig, readSynapseConfig } from './runner.js';

interface GroupFlags {
  config?: string[];
  via?: string;
  adminApiUrl?: string;
  dryRun?: boolean;
  timeout: string;
  caFile?: string;
}

/** Renders a bulk command's items as they come; one per run (per Output). */
class StreamedItems implements ItemSink {
  begun = false;
  changed = 0;
  #first = true;
  constructor(private readonly out: Output) {}

  begin(head: { command: string; backend: 'api' | 'db'; dryRun: boolean }): void {
    this.begun = true;
    if (this.out.json) this.out.writeStdout(scrubStrongSecrets(renderers!.jsonHead(head)));
  }

  items(batch: readonly ItemResult[]): void {
    if (batch.length === 0) return;
    // Items are given once their batch is done: those changed were committed.
    this.changed += batch.filter((i) => i.status === 'changed').length;
    if (this.out.json) {
      this.out.writeStdout(scrubStrongSecrets(renderers!.jsonItems(batch, this.#first)));
      this.#first = false;
    } else {
      this.out.print(batch.map((i) => renderers!.renderItem(i, this.out.paint)).join('\n'));
    }
  }

  end(result: ManageResult, code: number): void {
    if (this.out.json) this.out.writeStdout(scrubStrongSecrets(renderers!.jsonTail(result, code)));
    else this.out.print(renderers!.renderSummary(result, this.out.paint).join('\n'));
  }

  /**
   * A failure after items were printed: the JSON document is closed with the error (main would
   * otherwise start a second one), and the error goes to stderr as main says it.
   */
  abort(error: unknown): never {
    const known = error instanceof MasToolError ? error : undefined;
    const code = known?.exitCode ?? EXIT.failure;
    // Our own errors' text is ours (outside parts were scrubbed where they came in); anything else came from outside.
    const message = known?.message ?? scrubSecrets(error instanceof Error ? error.message : String(error));
    const json = known?.toJSON() ?? { code: 'MAS_TOOL_INTERNAL', message };
    this.out.writeStdout(scrubStrongSecrets(renderers!.jsonTail(undefined, code, json)));
    this.out.note(`${this.out.errPaint.red(known ? 'error:' : 'internal error:')} ${message}`);
    if (known?.hint !== undefined) this.out.note(`${this.out.errPaint.dim('hint:')} ${known.hint}`);
    if (this.out.debug && error instanceof Error && error.stack !== undefined) this.out.note(scrubSecrets(error.stack));
    throw new ExitError(code);
  }
}

const sinks = new WeakMap<Output, StreamedItems>();

/** An HTTP client made on its first request. */
function lazyHttpClient(options: HttpClientOptions): HttpClient {
  let client: HttpClient | undefined;
  return {
    fetch: async (url, init) => {
      client ??= (await import('../http/client.js')).createHttpClient(options);
      return client.fetch(url, init);
    },
    close: async () => client?.close(),
  };
}

export interface Needs {
  /** The admin API has no endpoint for this command. */
  dbOnly?: boolean;
}

let heapTuned = false;

/**
 * Bulk manage makes many short-lived objects per batch (query parameters, result rows, decisions,
 * output). With V8's defaults the young generation doubles to 32 MiB and the old one grows to about
 * four times what is live before it is collected, so a run over 100,000 users peaked 40% above one
 * over 10,000 although the live heap after every full collection was the same (about 11 MiB). These
 * two settings, which V8 reads whenever it sizes the heap, keep it near what is live; the price is
 * more, shorter collections (measured: no slower overall, see bench/manage-bench.ts).
 */
async function keepHeapNearLive(): Promise<void> {
  if (heapTuned) return;
  heapTuned = true;
  const v8 = await import('node:v8');
  v8.setFlagsFromString('--semi-space-growth-factor=1 --heap-growing-percent=50');
}

/** Loads the MAS config, picks and opens the backend, runs `work`, closes everything. */
export async function withManage<T>(ctx: CliContext, cmd: Command, needs: Needs, work: (m: ManageContext) => Promise<T>): Promise<T> {
  await keepHeapNearLive();
  const flags = cmd.optsWithGlobals<GroupFlags>();
  if (flags.via !== undefined && flags.via !== 'api' && flags.via !== 'db') throw new UsageError(`--via ${flags.via}: choose api or db.`, { hint: 'api uses the MAS admin API, db writes the MAS database.' });
  const { readSecretSource } = await import('../config/secret-source.js');
  const mas = await readMasConfig(ctx, flags.config);
  const timeout = positiveSeconds('--timeout', flags.timeout);
  const name = cmd.name();
  if (flags.via === 'api' && needs.dbOnly === true) {
    throw new UsageError(`${name} has no MAS admin API endpoint; it needs the MAS database.`, { hint: `Run it with --via db (the database in the MAS config's database section must be reachable).` });
  }
  // Only the choice of client here: the admin API backend itself is loaded when it is the one used.
  // With an explicit --via db there is nothing to choose, and the HTTP stack (undici, openid-client:
  // a fifth of the process's memory) is loaded only if the homeserver is asked something.
  const admin = flags.via === 'db' ? undefined : (await import('../http/openid.js')).chooseAdminClient(mas);
  const via = flags.via ?? (needs.dbOnly === true || admin?.client === undefined ? 'db' : 'api');
  if (via === 'api' && admin?.client === undefined) {
    throw new UsageError(`--via api needs an admin client in the MAS config: ${admin?.reason ?? 'none is configured'}.`, {
      hint: 'Add a client with a client_secret under `clients` and list its client_id in policy.data.admin_clients (and serve the adminapi resource), or use --via db.',
    });
  }
  const httpOptions = { timeoutMs: timeout * 1000, userAgent: 'mas-tool-manage', ...(flags.caFile !== undefined ? { caFile: flags.caFile } : {}) };
  const http = via === 'api' ? (await import('../http/client.js')).createHttpClient(httpOptions) : lazyHttpClient(httpOptions);
  let backend: ManageBackend | undefined;
  let stopProgress: (() => void) | undefined;
  try {
    if (via === 'api') {
      const { openApiBackend } = await import('../manage/api/backend.js');
      const { startProgress } = await import('../report/progress.js');
      // One request per user on the admin API: a file of thousands takes a while, so show it moving.
      const progress = { stage: 'load' as const, phase: 'admin API requests', done: 0, total: undefined, verb: 'manage', unit: 'requests' };
      stopProgress = startProgress(progress, ctx.streams.stderr);
      const counted: typeof http = { fetch: (url, init) => (progress.done++, http.fetch(url, init)), close: () => http.close() };
      backend = await openApiBackend({ mas, http: counted, timeoutMs: timeout * 1000, ...(flags.adminApiUrl !== undefined ? { adminApiUrl: flags.adminApiUrl } : {}) });
    } else {
      const { openDatabaseBackend } = await import('../manage/db/backend.js');
      const { masTarget } = await import('../db/connection.js');
      backend = await openDatabaseBackend(masTarget(mas, ctx.streams.env));
    }
    const out = ctx.output(cmd);
    const sink = new StreamedItems(out);
    sinks.set(out, sink);
    const m: ManageContext = { backend, mas, serverName: mas.matrix.homeserver, dryRun: flags.dryRun === true, sink };
    if (mas.matrix.secret !== undefined) m.homeserver = { endpoint: mas.matrix.endpoint, secret: readSecretSource(mas.matrix.secret, 'trim'), http };
    try {
      return await work(m);
    } catch (caught) {
      // Stopped by a signal: that is what to report, with what earlier batches had written.
      const error = asInterruption(caught, sink.changed > 0 ? `${sink.changed} changed item${sink.changed === 1 ? ' was' : 's were'} written by earlier batches` : undefined);
      if (sink.begun && out.json) sink.abort(error);
      throw error;
    }
  } finally {
    stopProgress?.();
    await backend?.close();
    await http.close();
  }
}

/**
 * A commander action for a manage subcommand: opens the backend, runs the command, renders. `before`
 * runs ahead of opening the backend: a password prompt must not race the admin API's progress line
 * on the terminal, nor wait while a database connection sits open.
 */
export function manageAction<A extends unknown[]>(
  ctx: CliContext,
  needs: Needs,
  run: (m: ManageContext, ...args: A) => Promise<ManageResult>,
  before?: (...args: A) => Promise<void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    const out = ctx.output(cmd);
    await loadRenderers();
    const given = args.slice(0, -1) as A;
    await before?.(...given);
    const result = await withManage(ctx, cmd, needs, (m) => run(m, ...given));
    finish(ctx, out, result);
  };
}

export function finish(ctx: CliContext, out: Output, result: ManageResult, token?: Secret, options: { stdoutOnlyForToken?: boolean } = {}): void {
  const failed = result.summary !== undefined ? result.summary.failed > 0 : result.items.some((i) => i.status === 'failed');
  const code = failed ? EXIT.errors : EXIT.ok;
  ctx.exitCode = code;
  const sink = sinks.get(out);
  if (result.itemsStreamed === true && sink !== undefined) sink.end(result, code);
  else renderResult(out, result, code, token, options.stdoutOnlyForToken === true);
}

let renderers: typeof import('../report/manage.js') | undefined;

function renderResult(out: Output, result: ManageResult, code: number, token: Secret | undefined, stdoutOnlyForToken: boolean): void {
  const r = renderers!;
  if (out.json) {
    const doc = r.manageJson(result, code);
    if (token !== undefined) out.writeJson({ ...doc, token: null }, { key: 'token', value: token.reveal() });
    else out.writeJson(doc);
    return;
  }
  // The token alone on stdout, so that `TOKEN=$(mas-tool manage issue-compat-token ...)` works; what
  // happened goes to stderr with everything else.
  if (token !== undefined || stdoutOnlyForToken) {
    r.renderManage(result, out.errPaint).forEach((l) => out.note(l));
    if (token !== undefined) out.writeStdout(`${token.reveal()}\n`);
    return;
  }
  out.print(r.renderManage(result, out.paint).join('\n'));
}

export async function loadRenderers(): Promise<void> {
  renderers ??= await import('../report/manage.js');
}

/** Users from arguments, or from --from-file (one per line, or CSV with a `user` column). */
export async function usersFrom(args: readonly string[], fromFile: string | undefined): Promise<BulkInput<string>> {
  if (fromFile === undefined) {
    if (args.length === 0) throw new UsageError('Name at least one user, or give --from-file.');
    return [...args];
  }
  if (args.length > 0) throw new UsageError('Give users either as arguments or with --from-file, not both.');
  return fileInput(fromFile, { required: ['user'] }, (r) => r.user!);
}

/**
 * The rows of --from-file, batch by batch as the work needs them. The whole file is read once first
 * (parsing only, nothing kept), so that a malformed line 70,000 stops the command before anything
 * is written.
 */
export async function fileInput<T>(file: string, columns: InputColumns, map: (values: Record<string, string>) => T | T[]): Promise<AsyncIterable<T[]>> {
  const { checkInputFile, readInputBatches } = await import('../manage/input-file.js');
  const { BATCH_SIZE, mapBatches } = await import('../manage/commands/batches.js');
  await checkInputFile(file, columns);
  return mapBatches(readInputBatches(file, columns, BATCH_SIZE), (r) => map(r.values));
}

export async function readPassword(ctx: CliContext, fromStdin: boolean | undefined, what: string): Promise<Secret> {
  const { readPasswordFromStdin, promptPassword } = await import('./password-input.js');
  return fromStdin === true ? readPasswordFromStdin(ctx.streams.stdin) : promptPassword(ctx.streams.stdin, ctx.streams.stderr, what);
}

export const truthy = (v: string | undefined): boolean => v !== undefined && /^(1|true|yes|y|admin)$/i.test(v.trim());


export interface SynapseFlags {
  synapseConfig?: string[];
  synapseDatabaseUri?: string;
}

/** Synapse's admins, read from its database in a read-only snapshot, all at once. */
export async function readSynapse(ctx: CliContext, flags: SynapseFlags, serverName: string): Promise<SynapseAdmin[]> {
  return withSynapseAdmins(ctx, flags, serverName, async (batches) => {
    const admins: SynapseAdmin[] = [];
    for await (const batch of batches) admins.push(...batch);
    return admins;
  });
}

/** Synapse's admins, a batch at a time from one read-only snapshot, for as long as `work` runs. */
export async function withSynapseAdmins<T>(ctx: CliContext, flags: SynapseFlags, serverName: string, work: (admins: AsyncIterable<SynapseAdmin[]>) => Promise<T>): Promise<T> {
  const { synapseTarget, connect } = await import('../db/connection.js');
  const { readSynapseAdminBatches } = await import('../manage/synapse-admins.js');
  const { BATCH_SIZE } = await import('../manage/commands/batches.js');
  if (flags.synapseConfig === undefined) throw new UsageError('--synapse-database-uri needs --synapse-config too (for the server name and the rest of the Synapse settings).');
  const synapse = await readSynapseConfig(flags.synapseConfig);
  if (synapse.serverName !== serverName) {
    throw new UsageError(`homeserver.yaml says server_name ${synapse.serverName}, the MAS config's matrix.homeserver is ${serverName}: these are not the same deployment.`);
  }
  const db = await connect(synapseTarget(synapse, flags.synapseDatabaseUri, ctx.streams.env));
  try {
    return await work(readSynapseAdminBatches(db, serverName, BATCH_SIZE));
  } finally {
    await db.end();
  }
}
