// `syn2mas migrate --report FILE`: the path is checked before any work, so that a typo in it never
// costs (or, worse, misreports) a migration; a report that cannot be written after the commit is a
// warning with the report on stderr, exit 0, since the migration did happen.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/cli.js';
import { snapshotDatabase } from '../helpers/db-snapshot.js';
import { createSyn2masEnv, type Syn2masEnv } from '../helpers/syn2mas-env.js';

const BIN = fileURLToPath(new URL('../../bin/mas-tool.js', import.meta.url));
const envs: Syn2masEnv[] = [];
async function env(): Promise<Syn2masEnv> {
  const e = await createSyn2masEnv();
  envs.push(e);
  return e;
}
afterAll(async () => {
  await Promise.all(envs.map((e) => e.drop()));
});

const masUsers = async (e: Syn2masEnv): Promise<number> => (await e.mas.client.query<{ n: number }>('SELECT count(*)::int AS n FROM users')).rows[0]?.n ?? -1;

describe('syn2mas migrate --report', { timeout: 60_000 }, () => {
  it('into a directory that does not exist: a usage error (exit 2) before anything is read or written', async () => {
    const e = await env();
    const before = await snapshotDatabase(e.mas.client);
    const r = await run(['syn2mas', 'migrate', '--report', join(e.dir, 'missing', 'report.json'), ...e.args('nodir')]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    // One error line and its hint: not even the database targets were resolved.
    expect(r.stderr).toMatch(/^error: --report .*missing\/report\.json: the directory .*missing does not exist\.\nhint: Create it first \(mkdir -p .*\)/);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(2);
    expect(await snapshotDatabase(e.mas.client)).toEqual(before);
  });

  it('to an existing file: refused without --force (exit 1, the file untouched); with --force replaced at mode 0600', async () => {
    const e = await env();
    const path = join(e.dir, 'old-report.json');
    writeFileSync(path, 'an earlier report\n');
    chmodSync(path, 0o644);
    const refused = await run(['syn2mas', 'migrate', '--json', '--report', path, ...e.args('exists')]);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).error).toEqual({ code: 'MAS_TOOL_FILE_EXISTS', message: `${path} already exists; not overwriting it.`, hint: 'Choose another --report path, or pass --force to replace the file.' });
    expect(readFileSync(path, 'utf8')).toBe('an earlier report\n');
    expect(await masUsers(e)).toBe(0);

    const forced = await run(['syn2mas', 'migrate', '--report', path, '--force', ...e.args('forced')]);
    expect(forced.code).toBe(0);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ ok: true, exitCode: 0, migration: { entities: { users: { migrated: 8 } } } });
    expect(await masUsers(e)).toBe(8);
  });

  it('a new report file is written with mode 0600', async () => {
    const e = await env();
    const path = join(e.dir, 'new-report.json');
    const r = await run(['syn2mas', 'migrate', '--dry-run', '--report', path, ...e.args('new')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Report written to ${path}.`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('a report that cannot be written after the commit is a warning: exit 0, the report on stderr, no half-written file', async () => {
    const e = await env();
    const path = join(e.dir, 'too-big-report.json');
    // The path is fine when checked; writing it fails (EFBIG) only because of the file size limit
    // set for this process, as a full disk or a quota would make it fail.
    const child = spawn('bash', ['-c', 'ulimit -f 1; exec "$0" "$@"', process.execPath, BIN, 'syn2mas', 'migrate', '--report', path, ...e.args('efbig')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code).toBe(0);
    expect(stderr).toContain(`warning: Could not write --report ${path}: EFBIG. The run itself succeeded; the report follows here instead.`);
    const start = stderr.indexOf('{\n  "ok": true');
    expect(start).toBeGreaterThan(0);
    const reportText = stderr.slice(start, stderr.indexOf('\n}', start) + 2);
    expect(JSON.parse(reportText)).toMatchObject({ ok: true, exitCode: 0, migration: { entities: { users: { migrated: 8 } } } });
    expect(stderr).not.toContain('internal error');
    // The human summary still reaches stdout, and the migration is committed.
    expect(stdout).toContain('users');
    expect(await masUsers(e)).toBe(8);
    expect(existsSync(path)).toBe(false);
  });
});
