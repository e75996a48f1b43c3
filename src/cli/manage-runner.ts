// What every `mas-tool manage` subcommand shares: opening the backend the flags and the MAS config
// call for (and closing it), reading users from arguments or --from-file, reading a password, reading
// Synapse's admins, and rendering the result with the exit code.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { ManageContext } from '../manage/commands/context.js';
import type { ManageBackend } from '../manage/backend.js';
import type { SynapseAdmin } from '../manage/synapse-admins.js';
import type { ManageResult } from '../manage/model.js';
import type { Secret } from '../secret.js';
import type { CliContext } from './main.js';
import { EXIT } from './main.js';

interface GroupFlags {
  config?: string[];
  via?: string;
  adminApiUrl?: string;
  dryRun?: boolean;
  timeout: string;
  caFile?: string;
}

type Output = ReturnType<CliContext['output']>;

export interface Needs {
  /** The admin API has no endpoint for this command. */
  dbOnly?: boolean;
}

/** Loads the MAS config, picks and opens the backend, runs `work`, closes everything. */
export async function withManage<T>(ctx: CliContext, cmd: Command, needs: Needs, work: (m: ManageContext) => Promise<T>): Promise<T> {
  const flags = cmd.optsWithGlobals<GroupFlags>();
  if (flags.via !== undefined && flags.via !== 'api' && flags.via !== 'db') throw new UsageError(`--via ${flags.via}: choose api or db.`, { hint: 'api uses the MAS admin API, db writes the MAS database.' });
  const { loadMasConfigFiles, resolveMasConfigPaths } = await import('../config/read.js');
  const { parseMasConfig } = await import('../config/mas.js');
  const { readSecretSource } = await import('../config/secret-source.js');
  const { createHttpClient } = await import('../http/client.js');
  // Only the choice of client here: the admin API backend itself is loaded when it is the one used.
  const { chooseAdminClient } = await import('../http/openid.js');
  const mas = parseMasConfig(loadMasConfigFiles(resolveMasConfigPaths(flags.config ?? [], ctx.streams.env)));
  const timeout = Number(flags.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0) throw new UsageError(`--timeout must be a positive number of seconds (got "${flags.timeout}").`);
  const name = cmd.name();
  if (flags.via === 'api' && needs.dbOnly === true) {
    throw new UsageError(`${name} has no MAS admin API endpoint; it needs the MAS database.`, { hint: `Run it with --via db (the database in the MAS config's database section must be reachable).` });
  }
  const admin = chooseAdminClient(mas);
  const via = flags.via ?? (needs.dbOnly === true || admin.client === undefined ? 'db' : 'api');
  if (via === 'api' && admin.client === undefined) {
    throw new UsageError(`--via api needs an admin client in the MAS config: ${admin.reason ?? 'none is configured'}.`, {
      hint: 'Add a client with a client_secret under `clients` and list its client_id in policy.data.admin_clients (and serve the adminapi resource), or use --via db.',
    });
  }
  const http = createHttpClient({ timeoutMs: timeout * 1000, userAgent: 'mas-tool-manage', ...(flags.caFile !== undefined ? { caFile: flags.caFile } : {}) });
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
    const m: ManageContext = { backend, mas, serverName: mas.matrix.homeserver, dryRun: flags.dryRun === true };
    if (mas.matrix.secret !== undefined) m.homeserver = { endpoint: mas.matrix.endpoint, secret: readSecretSource(mas.matrix.secret, 'trim'), http };
    return await work(m);
  } finally {
    stopProgress?.();
    await backend?.close();
    await http.close();
  }
}

export function finish(ctx: CliContext, out: Output, result: ManageResult, token?: Secret): void {
  const code = result.items.some((i) => i.status === 'failed') ? EXIT.errors : EXIT.ok;
  ctx.exitCode = code;
  renderResult(out, result, code, token);
}

let renderers: typeof import('../report/manage.js') | undefined;

function renderResult(out: Output, result: ManageResult, code: number, token?: Secret): void {
  const r = renderers!;
  if (out.json) {
    const doc = r.manageJson(result, code);
    if (token !== undefined) out.writeJson({ ...doc, token: null }, { key: 'token', value: token.reveal() });
    else out.writeJson(doc);
    return;
  }
  // The token alone on stdout, so that `TOKEN=$(mas-tool manage issue-compat-token ...)` works; what
  // happened goes to stderr with everything else.
  if (token !== undefined) {
    r.renderManage(result, out.errPaint).forEach((l) => out.note(l));
    out.writeStdout(`${token.reveal()}\n`);
    return;
  }
  out.print(r.renderManage(result, out.paint).join('\n'));
}

export async function loadRenderers(): Promise<void> {
  renderers ??= await import('../report/manage.js');
}

/** Users from arguments, or from --from-file (one per line, or CSV with a `user` column). */
export async function usersFrom(args: readonly string[], fromFile: string | undefined): Promise<string[]> {
  if (fromFile === undefined) {
    if (args.length === 0) throw new UsageError('Name at least one user, or give --from-file.');
    return [...args];
  }
  if (args.length > 0) throw new UsageError('Give users either as arguments or with --from-file, not both.');
  const { readInputFile } = await import('../manage/input-file.js');
  return (await readInputFile(fromFile, { required: ['user'] })).map((r) => r.user!);
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

/** Synapse's admins, read from its database in a read-only snapshot. */
export async function readSynapse(ctx: CliContext, flags: SynapseFlags, serverName: string): Promise<SynapseAdmin[]> {
  const { loadSynapseConfigFiles } = await import('../config/read.js');
  const { parseSynapseConfig } = await import('../config/synapse.js');
  const { synapseTarget, connect } = await import('../db/connection.js');
  const { readSynapseAdmins } = await import('../manage/synapse-admins.js');
  if (flags.synapseConfig === undefined) throw new UsageError('--synapse-database-uri needs --synapse-config too (for the server name and the rest of the Synapse settings).');
  const synapse = parseSynapseConfig(loadSynapseConfigFiles(flags.synapseConfig));
  if (synapse.serverName !== serverName) {
    throw new UsageError(`homeserver.yaml says server_name ${synapse.serverName}, the MAS config's matrix.homeserver is ${serverName}: these are not the same deployment.`);
  }
  const db = await connect(synapseTarget(synapse, flags.synapseDatabaseUri, ctx.streams.env));
  try {
    return await readSynapseAdmins(db, serverName);
  } finally {
    await db.end();
  }
}
