// Shared setup for the database backend tests: a backend over the test database's own client, a
// clean slate between tests, rows seeded the way MAS writes them, and the queue_jobs rows read back.
import type pg from 'pg';
import { ulidToUUID, uuidToULID } from 'ulid';
import { beforeEach } from 'vitest';
import type { DatabaseOnlyBackend } from '../../../src/manage/backend.js';
import { databaseBackendOn } from '../../../src/manage/db/backend.js';
import { newUlid } from '../../../src/manage/db/ids.js';
import { inspectManageSchema } from '../../../src/manage/db/schema.js';
import type { TestDatabase } from '../../helpers/db.js';

export const uuid = (ulid: string): string => ulidToUUID(ulid).toLowerCase();
export const ulid = (uuidText: string): string => uuidToULID(uuidText);

export async function backendFor(db: TestDatabase): Promise<DatabaseOnlyBackend> {
  return databaseBackendOn(db.client, await inspectManageSchema(db.client));
}

/** Empties every table the backend touches before each test of the file. */
export function cleanBetweenTests(db: TestDatabase): void {
  beforeEach(async () => {
    await db.client.query('TRUNCATE queue_jobs, users, upstream_oauth_providers, oauth2_clients CASCADE');
  });
}

export interface SeededUser {
  id: string;
  username: string;
}

export async function seedUser(
  client: pg.Client,
  username: string,
  options: { locked?: boolean; deactivated?: boolean; admin?: boolean } = {},
): Promise<SeededUser> {
  const id = newUlid();
  await client.query(
    `INSERT INTO users (user_id, username, created_at, locked_at, deactivated_at, can_request_admin)
     VALUES ($1, $2, now() - interval '1 day', $3, $4, $5)`,
    [uuid(id), username, options.locked ? new Date('2026-01-01T00:00:00Z') : null, options.deactivated ? new Date('2026-01-02T00:00:00Z') : null, options.admin ?? false],
  );
  return { id, username };
}

export async function seedProvider(client: pg.Client, options: { humanName?: string; issuer?: string; disabled?: boolean } = {}): Promise<string> {
  const id = newUlid();
  await client.query(
    `INSERT INTO upstream_oauth_providers (upstream_oauth_provider_id, issuer, human_name, scope, client_id, token_endpoint_auth_method, created_at, disabled_at)
     VALUES ($1, $2, $3, 'openid', 'client', 'none', now(), $4)`,
    [uuid(id), options.issuer ?? 'https://idp.example.com/', options.humanName ?? null, options.disabled ? new Date() : null],
  );
  return id;
}

export async function seedLink(client: pg.Client, providerId: string, subject: string, userId: string | null): Promise<string> {
  const id = newUlid();
  await client.query(
    `INSERT INTO upstream_oauth_links (upstream_oauth_link_id, upstream_oauth_provider_id, user_id, subject, created_at)
     VALUES ($1, $2, $3, $4, now())`,
    [uuid(id), uuid(providerId), userId === null ? null : uuid(userId), subject],
  );
  return id;
}

export interface JobRow {
  queue_name: string;
  payload: Record<string, unknown>;
  metadata: Record<string, unknown>;
  status: string;
}

/** Every job, oldest first (job ids are ULIDs, so by id). */
export async function jobs(client: pg.Client): Promise<JobRow[]> {
  const { rows } = await client.query<JobRow>(`SELECT queue_name, payload, metadata, status::text FROM queue_jobs ORDER BY queue_job_id`);
  return rows;
}

export const provisionJob = (userId: string, displayName: string | null = null): JobRow => ({
  queue_name: 'provision-user',
  payload: { user_id: userId, set_display_name: displayName },
  metadata: {},
  status: 'available',
});
