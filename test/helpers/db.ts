// A fresh database per test file, cloned from a template built by the global setup, dropped afterwards.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import type { TemplateName } from './templates.js';

export interface TestDatabase {
  name: string;
  /** A postgres:// URL with credentials, for code under test. */
  url: string;
  /** A connected client for the test's own setup and assertions. */
  client: pg.Client;
  drop(): Promise<void>;
}

function withDatabase(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject('pgServer').adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(template: TemplateName = 'empty'): Promise<TestDatabase> {
  const server = inject('pgServer');
  const name = `mt_${server.runId}_${randomBytes(5).toString('hex')}`;
  await admin(async (c) => {
    // Cloning fails while another session is still connected to the template; that is brief.
    for (let attempt = 0; ; attempt++) {
      try {
        await c.query(`CREATE DATABASE "${name}" TEMPLATE "${server.templates[template]}"`);
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== '55006' || attempt >= 50) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });
  const url = withDatabase(server.adminUrl, name);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    name,
    url,
    client,
    async drop() {
      await client.end().catch(() => undefined);
      await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/** Registers beforeAll/afterAll hooks; the returned object's fields are set once beforeAll ran. */
export function useTestDatabase(template: TemplateName = 'empty'): TestDatabase {
  const handle = {} as TestDatabase;
  beforeAll(async () => {
    Object.assign(handle, await createTestDatabase(template));
  });
  afterAll(async () => {
    await handle.drop?.();
  });
  return handle;
}

/** Runs one of our SQL fixture files (test/fixtures/NAME). */
export async function loadFixture(client: pg.Client, name: string): Promise<void> {
  await client.query(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));
}
