// All-or-nothing: whatever stops a migration half-way (the process killed with SIGKILL, the MAS
// connection cut), the MAS database afterwards is exactly as it was before: same tables, same
// constraints and indexes, same contents.
import { spawn } from 'node:child_process';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { snapshotDatabase } from '../helpers/db-snapshot.js';
import { activeQuery, BIN, bulkUsers, slowInserts, waitFor } from '../helpers/interrupted-run.js';
import { createSyn2masEnv, type Syn2masEnv } from '../helpers/syn2mas-env.js';

const envs: Syn2masEnv[] = [];
afterAll(async () => {
  await Promise.all(envs.map((e) => e.drop()));
});

async function prepared(): Promise<{ e: Syn2masEnv; watcher: pg.Client; before: Awaited<ReturnType<typeof snapshotDatabase>> }> {
  const e = await createSyn2masEnv();
  envs.push(e);
  await bulkUsers(e.synapse.client, 5_000);
  // Slow the session and token loads down (half a millisecond per row) so that the interruption
  // lands inside them however fast or busy the machine is, instead of racing the migration.
  await slowInserts(e.mas.client, ['compat_sessions', 'compat_access_tokens'], 0.0005);
  const watcher = new pg.Client({ connectionString: e.mas.url });
  await watcher.connect();
  return { e, watcher, before: await snapshotDatabase(e.mas.client) };
}

describe('an interrupted migration', { timeout: 90_000 }, () => {
  it('leaves MAS exactly as before when the process is killed with SIGKILL mid-load', async () => {
    const { e, watcher, before } = await prepared();
    try {
      const child = spawn(process.execPath, [BIN, 'syn2mas', 'migrate', ...e.args('kill')], { stdio: 'ignore' });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
      // Wait until the tokens are being loaded: users, emails and sessions are already in.
      await waitFor(async () => (await activeQuery(watcher, e.mas.name, 'COPY compat_access_tokens%')) !== undefined, 'the token load');
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      // PostgreSQL notices the dead client and rolls its transaction back.
      await waitFor(async () => (await watcher.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'mas-tool'`, [e.mas.name])).rows.length === 0, 'the backend to end');
      expect(await snapshotDatabase(e.mas.client)).toEqual(before);
    } finally {
      await watcher.end();
    }
  });

  it('leaves MAS exactly as before when the MAS connection is cut, and says what failed', async () => {
    const { e, watcher, before } = await prepared();
    try {
      const child = spawn(process.execPath, [BIN, 'syn2mas', 'migrate', ...e.args('cut')], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      let pid: number | undefined;
      await waitFor(async () => (pid = await activeQuery(watcher, e.mas.name, 'COPY compat_sessions%')) !== undefined, 'the session load');
      await watcher.query('SELECT pg_terminate_backend($1)', [pid]);
      expect(await exited).toBe(1);
      expect(stderr).toMatch(/error: Failed while migrating devices into compat_sessions/);
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(await snapshotDatabase(e.mas.client)).toEqual(before);
    } finally {
      await watcher.end();
    }
  });
});
