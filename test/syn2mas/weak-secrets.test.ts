// A weak secret in the configs (a pepper `PEPPER`, `matrix.secret: database`): `syn2mas check` says
// so with W_WEAK_SECRET, naming the keys and never the values, and its own words stay whole: the
// finding codes, the key paths and "Synapse database" are not garbled into "[redacted]".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, type Run } from '../helpers/cli.js';
import { createSyn2masEnv, type Syn2masEnv } from '../helpers/syn2mas-env.js';

const STRONG_PEPPER = 'q7Vt2mXr9LpK4sZw8NcB';
let e: Syn2masEnv;
let human: Run;
let json: Run;

beforeAll(async () => {
  e = await createSyn2masEnv();
  const overrides = {
    synapse: { password_config: { pepper: 'PEPPER' } },
    mas: {
      matrix: { homeserver: 'example.com', endpoint: 'http://localhost:8008/', secret: 'database' },
      passwords: { schemes: [{ version: 1, algorithm: 'bcrypt', unicode_normalization: true, secret: STRONG_PEPPER }, { version: 2, algorithm: 'argon2id' }] },
    },
  };
  human = await run(['syn2mas', 'check', ...e.args('weak', overrides)]);
  json = await run(['syn2mas', 'check', '--json', ...e.args('weak-json', overrides)]);
});
afterAll(async () => {
  await e.drop();
});

describe('syn2mas check with weak secrets', () => {
  it("keeps mas-tool's own words whole: codes, key paths, the database targets", () => {
    const all = human.stdout + human.stderr;
    expect(all).toContain('E_PASSWORD_PEPPER_MISMATCH');
    expect(all).toMatch(/^→ Synapse database \S+ on 127\.0\.0\.1:\d+ as \S+ \(from .*weak-homeserver\.yaml database\.args\)$/m);
    expect(all).toMatch(/^→ MAS database /m);
    // Nothing that came from outside carried a secret here, so nothing was scrubbed at all.
    expect(all).not.toContain('[redacted]');
    expect(json.stdout).not.toContain('[redacted]');
  });

  it('reports W_WEAK_SECRET naming the weak keys, never their values', () => {
    const doc = JSON.parse(json.stdout);
    const weak = doc.findings.find((f: { code: string }) => f.code === 'W_WEAK_SECRET');
    expect(weak).toMatchObject({ severity: 'warning' });
    expect(weak.details.secrets).toEqual([
      { key: 'matrix.secret', file: expect.stringMatching(/weak-json-mas\.yaml$/), weakness: 'short', pepper: false },
      { key: 'password_config.pepper', file: expect.stringMatching(/weak-json-homeserver\.yaml$/), weakness: 'short', pepper: true },
    ]);
    expect(weak.message).toMatch(/^2 secrets are weak: matrix\.secret \(.*\) is shorter than 16 characters; password_config\.pepper \(.*\) is shorter than 16 characters\./);
    expect(weak.fix).toContain('Replace matrix.secret with a long random value');
    expect(weak.fix).toContain('--accept W_WEAK_SECRET');
    // The strong MAS pepper is judged and not listed; its value is nowhere.
    expect(json.stdout + json.stderr).not.toContain(STRONG_PEPPER);
    expect(human.stdout).toContain('W_WEAK_SECRET');
    expect(doc.exitCode).toBe(10);
  });

  it('can be accepted like any warning', async () => {
    const r = await run(['syn2mas', 'check', '--accept', 'W_WEAK_SECRET', '--json', ...e.args('accepted', { mas: { matrix: { homeserver: 'example.com', endpoint: 'http://localhost:8008/', secret: 'database' } } })]);
    const doc = JSON.parse(r.stdout);
    expect(doc.accepted).toContain('W_WEAK_SECRET');
  });
});

describe('the cut-over of a staged migration', () => {
  it('leaves the strength of the secrets to the stage: no W_WEAK_SECRET to accept in the downtime', async () => {
    const staged = await createSyn2masEnv();
    try {
      const args = staged.args('cutover', { mas: { matrix: { homeserver: 'example.com', endpoint: 'http://localhost:8008/', secret: 'database' } } });
      const stage = await run(['syn2mas', 'migrate', '--stage', '--json', ...args]);
      // The stage runs the whole check, which reports it (a warning: it does not stop a migration).
      expect(stage.code).toBe(0);
      expect(JSON.parse(stage.stdout).findings.map((f: { code: string }) => f.code)).toContain('W_WEAK_SECRET');
      const cut = await run(['syn2mas', 'migrate', '--json', ...args]);
      const doc = JSON.parse(cut.stdout);
      expect(doc.findings.map((f: { code: string }) => f.code)).not.toContain('W_WEAK_SECRET');
      expect([cut.code, doc.delta.mode]).toEqual([0, 'cutover']);
    } finally {
      await staged.drop();
    }
  });
});
