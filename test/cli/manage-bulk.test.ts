// Bulk `mas-tool manage ... --from-file` on the MAS database as an operator runs it on a big file:
// batches of 1,000, the results printed batch by batch (one valid JSON document with --json), a
// failed line stopping the writing at its batch, and a malformed line stopping everything first.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { run } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
let dir: string;
let config: string[];
const USERS = 2500;

beforeAll(async () => {
  db = await createTestDatabase('mas');
  dir = mkdtempSync(join(tmpdir(), 'mas-tool-manage-bulk-'));
  const file = join(dir, 'mas.yaml');
  writeFileSync(file, stringify({ database: { uri: db.url }, matrix: { homeserver: 'example.com', endpoint: 'http://127.0.0.1:1/' } }));
  config = ['-c', file, '--via', 'db'];
});

beforeEach(async () => {
  await db.client.query('TRUNCATE queue_jobs, users CASCADE');
  await db.client.query(`INSERT INTO users (user_id, username, created_at) SELECT gen_random_uuid(), 'user' || i, now() FROM generate_series(1, $1::int) AS i`, [USERS]);
});

afterAll(async () => {
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function usersFile(name: string, edit: (lines: string[]) => void = () => undefined): string {
  const lines = Array.from({ length: USERS }, (_, i) => `user${i + 1}`);
  edit(lines);
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const lockedCount = async (): Promise<number> => (await db.client.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE locked_at IS NOT NULL')).rows[0]!.n;

describe('manage --from-file in batches', () => {
  it('locks 2,500 users in three batches, with one JSON document holding every item', async () => {
    const r = await run(['manage', 'lock', '--from-file', usersFile('all.txt'), ...config, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: true, exitCode: 0, command: 'lock', backend: 'db', dryRun: false, summary: { changed: USERS, unchanged: 0, wouldChange: 0, failed: 0 } });
    expect(doc.items).toHaveLength(USERS);
    expect(doc.items[USERS - 1]).toEqual({ subject: `user${USERS}`, status: 'changed', message: 'locked', jobs: ['provision-user'] });
    expect(await lockedCount()).toBe(USERS);
  });

  it('stops writing at the batch of a user not found: the first batch stays written, every failure is listed', async () => {
    const file = usersFile('one-bad.txt', (lines) => {
      lines[1499] = 'nosuchuser';
      lines[2199] = 'anothermissing';
    });
    const r = await run(['manage', 'lock', '--from-file', file, ...config, '--json']);
    expect(r.code).toBe(10);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: false, exitCode: 10, summary: { changed: 1000, wouldChange: USERS - 1000 - 2, failed: 2 }, aborted: `2 of ${USERS} items failed` });
    expect(doc.items.filter((i: { status: string }) => i.status === 'failed').map((i: { subject: string }) => i.subject)).toEqual(['nosuchuser', 'anothermissing']);
    expect(await lockedCount()).toBe(1000);

    const human = await run(['manage', 'unlock', '--from-file', file, ...config]);
    expect(human.code).toBe(10);
    const last = human.stdout.trimEnd().split('\n').at(-1);
    expect(last).toMatch(/^Stopped writing at the first batch with a failure: 2 of 2500 items failed\. The 1000 changed items were written in the batches before it/);
    expect(await lockedCount()).toBe(0);
  });

  it('changes nothing when a line far down the file is malformed, and names the line', async () => {
    const file = usersFile('malformed.txt', (lines) => {
      lines[2399] = 'user2400,surplus';
    });
    const r = await run(['manage', 'lock', '--from-file', file, ...config, '--json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: false, error: { code: 'MAS_TOOL_INPUT_FILE', details: { line: 2400 } } });
    expect(doc.error.message).toContain(`${file}:2400:`);
    expect(await lockedCount()).toBe(0);
  });

  it('closes the JSON document with the error when a batch cannot run, so stdout stays one document', async () => {
    // No matrix.secret in this MAS config: the homeserver cannot be asked whether the names are free.
    const file = join(dir, 'register.csv');
    writeFileSync(file, 'user,email\nnewperson1,new1@example.com\nnewperson2,new2@example.com\n');
    const r = await run(['manage', 'register-user', '--from-file', file, ...config, '--json']);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ ok: false, exitCode: 1, command: 'register-user', items: [], error: { code: 'MAS_TOOL_HOMESERVER_UNKNOWN' } });
    expect(r.stderr).toMatch(/^error: Cannot ask the homeserver whether the username is free/m);
    expect(r.stderr).toMatch(/^hint: /m);
  });
});
