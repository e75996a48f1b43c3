// Who is a server admin in Synapse (users.admin), so that the admin flag can be carried over to MAS
// (`can_request_admin`) or compared with it. Synapse may still be serving: the read runs in a
// read-only repeatable-read transaction, which takes only ACCESS SHARE locks and cannot write. The
// admins come through a cursor, a batch at a time, so that restore-admins never holds them all.
import type { Queryable } from '../db/queryable.js';
import { beginReadSnapshot } from '../db/snapshot.js';
import { DatabaseError } from '../errors.js';
import { isLocal, localpart } from '../syn2mas/synapse-sql.js';

export interface SynapseAdmin {
  /** The full Matrix ID, as Synapse stores it. */
  userId: string;
  /** The part between '@' and the first ':' (what MAS calls the username, for a local user). */
  localpart: string;
  deactivated: boolean;
  /** Registered by an application service (users.appservice_id is set); such users are not in MAS. */
  appservice: boolean;
  guest: boolean;
  /** The ID is not on this server (by the first-':' rule the migration uses), so it has no MAS user. */
  foreignServer: boolean;
}

interface AdminRow extends Record<string, unknown> {
  name: string;
  localpart: string;
  local: boolean;
  deactivated: boolean;
  appservice: boolean;
  guest: boolean;
}

// users.admin, deactivated and is_guest are smallints that Synapse reads as truthy: any non-zero
// value counts, as it does in Synapse. Ordered by code point, not by the database's collation, so
// the list reads the same on every server.
const ADMINS_SQL = `
  SELECT name,
         ${localpart('name')} AS localpart,
         ${isLocal('name')} AS local,
         deactivated <> 0 AS deactivated,
         appservice_id IS NOT NULL AS appservice,
         is_guest <> 0 AS guest
    FROM users
   WHERE admin <> 0
   ORDER BY name COLLATE "C"`;

function readFailed(cause: unknown): unknown {
  if (cause instanceof DatabaseError) return cause;
  if (cause instanceof Error && 'severity' in cause) {
    const missingTable = (cause as { code?: unknown }).code === '42P01';
    return new DatabaseError(
      'reading the server admins from the Synapse database',
      cause,
      missingTable ? { hint: 'This does not look like a Synapse database: check the database Synapse is configured with.' } : {},
    );
  }
  return cause;
}

function toAdmin(r: AdminRow): SynapseAdmin {
  return { userId: r.name, localpart: r.localpart, deactivated: r.deactivated, appservice: r.appservice, guest: r.guest, foreignServer: !r.local };
}

/**
 * Synapse's server admins, `size` at a time, from one snapshot. `db` must be a connection of its
 * own that is not inside a transaction: this opens one and ends it when the batches are done (or
 * the caller stops early).
 */
export async function* readSynapseAdminBatches(db: Queryable, serverName: string, size: number): AsyncGenerator<SynapseAdmin[]> {
  let open = false;
  try {
    try {
      // A few rows: no whole-table settings.
      await beginReadSnapshot(db, { bulk: false });
      open = true;
      await db.query(`DECLARE mas_tool_synapse_admins NO SCROLL CURSOR FOR ${ADMINS_SQL}`, [serverName]);
    } catch (cause) {
      throw readFailed(cause);
    }
    for (;;) {
      let rows: AdminRow[];
      try {
        rows = (await db.query<AdminRow>(`FETCH FORWARD ${Math.max(1, Math.floor(size))} FROM mas_tool_synapse_admins`)).rows;
      } catch (cause) {
        throw readFailed(cause);
      }
      if (rows.length === 0) break;
      yield rows.map(toAdmin);
    }
    open = false;
    await db.query('COMMIT');
  } finally {
    // Leave the connection usable (and out of the transaction) for the caller, also on an error.
    if (open) await db.query('ROLLBACK').catch(() => undefined);
  }
}

/** All of Synapse's server admins at once (list-admins shows them all anyway). */
export async function readSynapseAdmins(db: Queryable, serverName: string): Promise<SynapseAdmin[]> {
  const admins: SynapseAdmin[] = [];
  for await (const batch of readSynapseAdminBatches(db, serverName, 10_000)) admins.push(...batch);
  return admins;
}
