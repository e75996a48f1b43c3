// Who is an admin: MAS's can_request_admin, the MAS config's policy.data.admin_users, and (when the
// operator gives homeserver.yaml) Synapse's old admin flag, side by side with the differences. And
// restore-admins, which gives can_request_admin back to every Synapse admin a migration left without.
import type { ManageResult } from '../model.js';
import type { SynapseAdmin } from '../synapse-admins.js';
import { runBatches, type BulkInput } from './batches.js';
import { resolveUsers, type Decision, type ManageContext } from './context.js';

export interface AdminRow {
  username: string;
  /** MAS user id, when the user exists in MAS. */
  id?: string;
  canRequestAdmin: boolean;
  inPolicyAdminUsers: boolean;
  /** undefined when Synapse was not consulted. */
  synapseAdmin?: boolean;
  locked?: boolean;
  deactivated?: boolean;
}

export interface AdminListing {
  admins: AdminRow[];
  /** With Synapse: admins there that cannot request admin in MAS (restore-admins fixes these). */
  onlyInSynapse?: string[];
  /** With Synapse: MAS admins Synapse did not have as admins. */
  onlyInMas?: string[];
}

/** Synapse admins that can be MAS users at all: local, not an application service's, not a guest. */
function masCandidates(admins: readonly SynapseAdmin[]): SynapseAdmin[] {
  return admins.filter((a) => !a.appservice && !a.foreignServer && !a.guest);
}

export async function listAdmins(ctx: ManageContext, synapseAdmins?: readonly SynapseAdmin[]): Promise<ManageResult> {
  const listing = await ctx.backend.transaction(async (): Promise<AdminListing> => {
    const masAdmins = await ctx.backend.listAdmins();
    const rows = new Map<string, AdminRow>();
    for (const u of masAdmins) {
      rows.set(u.username.toLowerCase(), { username: u.username, id: u.id, canRequestAdmin: true, inPolicyAdminUsers: false, locked: u.lockedAt !== null, deactivated: u.deactivatedAt !== null });
    }
    const extra = [...ctx.mas.policyData.adminUsers, ...masCandidates(synapseAdmins ?? []).map((a) => a.localpart)].filter((n) => !rows.has(n.toLowerCase()));
    if (extra.length > 0) {
      const resolved = await resolveUsers(ctx, [...new Set(extra)]);
      for (const r of resolved) {
        const u = r.user;
        const key = (u?.username ?? r.ref.username).toLowerCase();
        if (rows.has(key)) continue;
        rows.set(key, u === undefined
          ? { username: r.ref.username, canRequestAdmin: false, inPolicyAdminUsers: false }
          : { username: u.username, id: u.id, canRequestAdmin: u.admin, inPolicyAdminUsers: false, locked: u.lockedAt !== null, deactivated: u.deactivatedAt !== null });
      }
    }
    const policy = new Set(ctx.mas.policyData.adminUsers.map((n) => n.toLowerCase()));
    for (const [key, row] of rows) row.inPolicyAdminUsers = policy.has(key);
    const listing: AdminListing = { admins: [] };
    if (synapseAdmins !== undefined) {
      const synapse = new Set(masCandidates(synapseAdmins).map((a) => a.localpart.toLowerCase()));
      for (const [key, row] of rows) row.synapseAdmin = synapse.has(key);
      listing.onlyInSynapse = [...rows.values()].filter((r) => r.synapseAdmin === true && !r.canRequestAdmin && !r.inPolicyAdminUsers).map((r) => r.username);
      listing.onlyInMas = [...rows.values()].filter((r) => r.synapseAdmin === false && (r.canRequestAdmin || r.inPolicyAdminUsers)).map((r) => r.username);
    }
    // Users only Synapse knew as admins but who are not admins anywhere now are listed too, so the
    // difference is visible; users who are admins nowhere are not.
    listing.admins = [...rows.values()]
      .filter((r) => r.canRequestAdmin || r.inPolicyAdminUsers || r.synapseAdmin === true)
      .sort((a, b) => a.username.localeCompare(b.username));
    return listing;
  });
  return { command: 'list-admins', backend: ctx.backend.kind, dryRun: false, items: [], listing };
}

export async function restoreAdmins(ctx: ManageContext, synapseAdmins: BulkInput<SynapseAdmin>): Promise<ManageResult> {
  return runBatches(ctx, 'restore-admins', synapseAdmins, (batch) => planRestore(ctx, batch), (ids) => ctx.backend.setAdmin([...new Set(ids)], true));
}

async function planRestore(ctx: ManageContext, synapseAdmins: readonly SynapseAdmin[]): Promise<Array<Decision<string>>> {
  const decisions: Array<Decision<string>> = [];
  for (const a of synapseAdmins) {
    if (a.appservice) decisions.push({ subject: a.userId, kind: 'unchanged', message: "an application service's user: it stays in Synapse, not MAS" });
    else if (a.foreignServer) decisions.push({ subject: a.userId, kind: 'unchanged', message: `not on ${ctx.serverName}` });
    else if (a.guest) decisions.push({ subject: a.userId, kind: 'unchanged', message: 'a guest: MAS does not carry guests' });
  }
  const candidates = masCandidates(synapseAdmins);
  const resolved = await resolveUsers(ctx, candidates.map((a) => a.localpart));
  resolved.forEach((r, i) => {
    const a = candidates[i]!;
    const u = r.user;
    // A Synapse admin missing from MAS is reported, not fatal: the others should still be restored.
    if (u === undefined) return decisions.push({ subject: a.userId, kind: 'unchanged', message: `not in MAS (${r.missing ?? 'not found'}); nothing to restore` });
    if (u.admin) return decisions.push({ subject: a.userId, kind: 'unchanged', message: 'already allowed to request admin' });
    const note = a.deactivated || u.deactivatedAt !== null ? ' (the account is deactivated)' : '';
    return decisions.push({ subject: a.userId, kind: 'change', change: u.id, message: `may request admin rights again, as in Synapse${note}` });
  });
  return decisions;
}
