import { describe, expect, it } from 'vitest';
import { VERSION } from '../../src/cli/version.js';
import { run } from '../helpers/cli.js';

describe('mas-tool command line', () => {
  it('prints help listing every command group, exit 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const group of ['config', 'syn2mas', 'doctor', 'manage']) expect(r.stdout).toMatch(new RegExp(`^  ${group}\\b`, 'm'));
  });

  it('prints the package version', async () => {
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('lists the manage commands when `manage` is run without one, exit 2', async () => {
    const r = await run(['manage']);
    expect(r.code).toBe(2);
    for (const c of ['register-user', 'add-email', 'set-admin', 'restore-admins', 'lock', 'issue-compat-token', 'provision-all-users']) {
      expect(r.stderr + r.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    }
  });

  it('writes exactly one JSON document for an error with --json', async () => {
    const r = await run(['manage', 'lock', 'alice', '--via', 'sideways', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      ok: false,
      error: { code: 'MAS_TOOL_USAGE', message: expect.stringContaining('--via sideways'), hint: expect.any(String) },
    });
  });

  it('treats an unknown flag as a usage error, exit 2, also in JSON', async () => {
    const plain = await run(['--bogus']);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain("unknown option '--bogus'");
    const json = await run(['config', 'generate', '--json', '--bogus']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).error.code).toBe('MAS_TOOL_USAGE');
  });

  it('treats a missing required flag as a usage error, exit 2', async () => {
    const r = await run(['syn2mas', 'check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("required option '--synapse-config <path>' not specified");
  });

  it('exits 2 for a group run without a subcommand', async () => {
    expect((await run(['syn2mas'])).code).toBe(2);
  });

  it('prints a user mistake as one sentence and a hint, never a stack trace', async () => {
    const r = await run(['config', 'generate', '--synapse-config', '/nonexistent/homeserver.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error: Synapse config path /nonexistent/homeserver.yaml does not exist.\n' +
        'hint: Pass --synapse-config with the homeserver.yaml Synapse runs with (a conf.d directory works too).\n',
    );
  });

  it('shows the stack with --debug', async () => {
    const r = await run(['--debug', 'config', 'generate', '--synapse-config', '/nonexistent/homeserver.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\n {4}at /);
  });

  it('colours only on a terminal, and never with NO_COLOR or --no-color', async () => {
    const args = ['config', 'generate', '--synapse-config', '/nonexistent/x.yaml'];
    expect((await run(args, { tty: true })).stderr).toContain('\u001b[31m');
    expect((await run(args, { tty: false })).stderr).not.toContain('\u001b[');
    expect((await run(args, { tty: true, env: { NO_COLOR: '1' } })).stderr).not.toContain('\u001b[');
    expect((await run(['--no-color', ...args], { tty: true })).stderr).not.toContain('\u001b[');
  });
});
