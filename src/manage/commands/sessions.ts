// Sessions and tokens: end a user's sessions, issue a compatibility token, re-provision everyone.
// The last two have no admin API endpoint and need the MAS database.
import { MasToolError } from '../../errors.js';
import type { Secret } from '../../secret.js';
import type { DatabaseOnlyBackend } from '../backend.js';
import { upsertDevice } from '../homeserver.js';
import type { ManageResult } from '../model.js';
import { randomDeviceId, validateDeviceId } from '../rules.js';
import { matrixId } from '../user-ref.js';
import { applyPlan, resolveOneItem, type ManageContext } from './context.js';

export async function killSessions(ctx: ManageContext, input: string): Promise<ManageResult> {
  return ctx.backend.transaction(async () => {
    const one = await resolveOneItem(ctx, input);
    if ('failed' in one) return applyPlan(ctx, 'kill-sessions', [one.failed], async () => undefined);
    const user = one.user;
    const sessions = await ctx.backend.activeSessions(user.id);
    const counts = { compat: sessions.compat.length, oauth2: sessions.oauth2.length, browser: sessions.browser.length };
    const total = counts.compat + counts.oauth2 + counts.browser;
    if (total === 0) {
      return applyPlan(ctx, 'kill-sessions', [{ subject: user.username, kind: 'unchanged', message: 'no active sessions', details: counts }], async () => undefined);
    }
    const message = `ended ${counts.compat} compatibility, ${counts.oauth2} OAuth 2.0 and ${counts.browser} browser session${counts.browser === 1 ? '' : 's'}; Synapse drops the devices when the MAS worker syncs them`;
    const jobs = ctx.backend.kind === 'db' ? ['sync-devices'] : undefined;
    return applyPlan(ctx, 'kill-sessions', [{ subject: user.username, kind: 'change', change: sessions, message, details: counts, ...(jobs ? { jobs } : {}) }], async () =>
      ctx.backend.finishSessions(user.id, sessions),
    );
  });
}

export interface CompatTokenOptions {
  deviceId?: string;
  synapseAdmin: boolean;
}

export interface IssuedToken {
  result: ManageResult;
  /** Only set when a token was issued (not on a dry run). */
  token?: Secret;
}

export async function issueCompatToken(ctx: ManageContext & { backend: DatabaseOnlyBackend }, input: string, options: CompatTokenOptions): Promise<IssuedToken> {
  const deviceId = options.deviceId ?? randomDeviceId();
  const badDevice = validateDeviceId(deviceId);
  if (badDevice !== undefined) throw new MasToolError('MAS_TOOL_BAD_DEVICE_ID', `--device-id ${JSON.stringify(deviceId)}: ${badDevice}.`);
  const hs = ctx.homeserver;
  if (hs === undefined) {
    throw new MasToolError('MAS_TOOL_HOMESERVER_UNKNOWN', 'A compatibility token needs its device created on the homeserver, and the MAS config has no matrix.secret (or secret_file) to ask it.', {
      hint: 'Add matrix.secret to the MAS config (the same value as matrix_authentication_service.secret in homeserver.yaml).',
    });
  }
  const backend = ctx.backend;
  let token: Secret | undefined;
  let deviceFailure: string | undefined;
  const result = await backend.transaction(async () => {
    const one = await resolveOneItem(ctx, input);
    if ('failed' in one) return applyPlan(ctx, 'issue-compat-token', [one.failed], async () => undefined);
    const user = one.user;
    if (user.deactivatedAt !== null || user.lockedAt !== null) {
      const state = user.deactivatedAt !== null ? 'deactivated' : 'locked';
      throw new MasToolError('MAS_TOOL_USER_INACTIVE', `${user.username} is ${state}; MAS would reject any token of theirs.`, {
        hint: `Run \`mas-tool manage unlock ${user.username}${state === 'deactivated' ? ' --reactivate' : ''}\` first.`,
      });
    }
    const what = `a compatibility token for ${matrixId(user.username, ctx.serverName)} on device ${deviceId}${options.synapseAdmin ? ', with Synapse admin rights' : ''} (it never expires; end it with kill-sessions)`;
    return applyPlan(ctx, 'issue-compat-token', [{ subject: user.username, kind: 'change', change: user.id, message: `issued ${what}`, details: { deviceId, synapseAdmin: options.synapseAdmin } }], async () => {
      const failure = await upsertDevice(hs, user.username, deviceId);
      if (failure !== undefined) {
        // As mas-cli: a half-created device is cleaned up by the worker's next device sync.
        await backend.scheduleSyncDevices(user.id);
        deviceFailure = failure;
        return;
      }
      token = (await backend.issueCompatToken(user.id, deviceId, options.synapseAdmin)).token;
    });
  });
  if (deviceFailure !== undefined) {
    throw new MasToolError('MAS_TOOL_DEVICE_NOT_CREATED', `The homeserver did not create the device, so no token was issued: ${deviceFailure}.`, {
      hint: 'A sync-devices job was scheduled to clean up. Check matrix.endpoint and matrix.secret (mas-tool doctor checks both).',
    });
  }
  return token === undefined ? { result } : { result, token };
}

class DryRunRollback extends Error {
  constructor(readonly count: number) {
    super('dry run');
  }
}

export async function provisionAllUsers(ctx: ManageContext & { backend: DatabaseOnlyBackend }): Promise<ManageResult> {
  const backend = ctx.backend;
  let count: number;
  try {
    count = await backend.transaction(async () => {
      const n = await backend.provisionAllUsers();
      // A dry run counts by doing it and rolling back, so the count is exactly what a real run schedules.
      if (ctx.dryRun) throw new DryRunRollback(n);
      return n;
    });
  } catch (error) {
    if (!(error instanceof DryRunRollback)) throw error;
    count = error.count;
  }
  const item = {
    subject: 'all users',
    status: count === 0 ? ('unchanged' as const) : ctx.dryRun ? ('would-change' as const) : ('changed' as const),
    message: count === 0 ? 'MAS has no users' : `${ctx.dryRun ? 'would schedule' : 'scheduled'} provision-user for ${count} user${count === 1 ? '' : 's'} (locked and deactivated ones too); the MAS worker pushes each to the homeserver`,
    details: { users: count },
    ...(count > 0 ? { jobs: ['provision-user'] } : {}),
  };
  return { command: 'provision-all-users', backend: 'db', dryRun: ctx.dryRun, items: [item] };
}
