// Bad input as a new operator gives it: every case ends in one line saying what is wrong and where,
// a hint saying how to fix it, the exit code of the README's table, and no stack trace.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { run, type Run } from '../helpers/cli.js';

const SSO = fileURLToPath(new URL('../fixtures/synapse-configs/sso-providers/homeserver.yaml', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'mas-tool-bad-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One error line, one hint line, nothing else on stderr; the JSON form carries both too. */
function expectOneLineError(r: Run, code: number, message: RegExp): void {
  expect(r.code).toBe(code);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(message);
  expect(lines[1]).toMatch(/^hint: \S/);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('config generate --output', () => {
  it('into a directory that does not exist: a usage error (exit 2) before any work, with a hint', async () => {
    const target = join(dir, 'no-such-dir', 'config.yaml');
    const r = await run(['config', 'generate', '--synapse-config', SSO, '--output', target]);
    expectOneLineError(r, 2, /--output .*no-such-dir\/config\.yaml: the directory .*no-such-dir does not exist\./);
    expect(r.stderr).toContain('hint: Create it first (mkdir -p');
    const json = await run(['--json', 'config', 'generate', '--synapse-config', SSO, '--output', target]);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({
      ok: false,
      error: { code: 'MAS_TOOL_USAGE', message: expect.stringContaining('does not exist'), hint: expect.stringContaining('mkdir -p') },
    });
  });

  it('naming a directory: a usage error (exit 2)', async () => {
    const r = await run(['config', 'generate', '--synapse-config', SSO, '--output', dir]);
    expectOneLineError(r, 2, /--output .* is a directory\./);
  });

  it('--json errors carry a hint, also for --json without --output', async () => {
    const r = await run(['--json', 'config', 'generate', '--synapse-config', SSO]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error).toEqual({ code: 'MAS_TOOL_USAGE', message: expect.stringContaining('--json needs --output'), hint: expect.stringContaining('--output') });
  });

  it('replacing a file with --force leaves it at mode 0600 whatever its mode was', async () => {
    const target = join(dir, 'loose.yaml');
    writeFileSync(target, 'old\n', { mode: 0o644 });
    chmodSync(target, 0o644);
    const r = await run(['config', 'generate', '--synapse-config', SSO, '--output', target, '--force']);
    expect(r.code).toBe(0);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(readFileSync(target, 'utf8')).toContain('secrets:');
  });
});

describe('Synapse config paths', () => {
  it('an empty config directory says it has no .yaml files (exit 1)', async () => {
    const empty = join(dir, 'empty-conf.d');
    mkdirSync(empty);
    writeFileSync(join(empty, 'homeserver.yml'), 'server_name: example.com\n');
    const r = await run(['config', 'generate', '--synapse-config', empty]);
    expectOneLineError(r, 1, /The Synapse config directory .*empty-conf\.d has no \.yaml files\./);
    expect(r.stderr).not.toContain('server_name');
  });

  it('an empty conf.d beside homeserver.yaml is fine, as Synapse takes it', async () => {
    const empty = join(dir, 'empty-beside');
    mkdirSync(empty);
    const r = await run(['config', 'generate', '--synapse-config', SSO, '--synapse-config', empty]);
    expect(r.code).toBe(0);
  });

  it('a huge homeserver.yaml is refused at once, by its size, with the limit (exit 1)', async () => {
    const huge = join(dir, 'huge-homeserver.yaml');
    writeFileSync(huge, '');
    truncateSync(huge, 66 * 1024 * 1024);
    const r = await run(['config', 'generate', '--synapse-config', huge]);
    expectOneLineError(r, 1, /Synapse config file .*huge-homeserver\.yaml is 66\.0 MiB; mas-tool reads configuration files of up to 8 MiB\./);
  });

  it('a huge MAS config is refused the same way', async () => {
    const huge = join(dir, 'huge-mas.yaml');
    writeFileSync(huge, '');
    truncateSync(huge, 9 * 1024 * 1024);
    const r = await run(['syn2mas', 'check', '-c', huge, '--synapse-config', SSO]);
    expectOneLineError(r, 1, /MAS config file .*huge-mas\.yaml is 9\.0 MiB/);
  });
});
