// The cut-over plan for homeserver.yaml: which options go and why (refused or ignored, the rules
// doctor shares), removal from every file of a split config, the matrix_authentication_service
// block and where it goes, keys that cannot be cut out alone, secrets hidden in what is shown, and a
// patch that applies to the operator's files.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { parseMasConfig } from '../../src/config/mas.js';
import { expandSynapseConfigPaths, loadSynapseConfigFiles } from '../../src/config/read.js';
import { parseSynapseConfig } from '../../src/config/synapse.js';
import { masEndpoint, newText, planSynapseAfter, renderPlanDiff, type SynapseAfterPlan } from '../../src/config/synapse-after.js';
import { sourced } from '../helpers/config.js';

const dir = mkdtempSync(join(tmpdir(), 'mas-tool-synapse-after-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MAS = parseMasConfig(
  sourced(
    {
      http: { public_base: 'https://auth.example.com/', listeners: [{ name: 'internal', resources: [{ name: 'discovery' }, { name: 'oauth' }], binds: [{ host: 'mas.internal', port: 8080 }], prefix: '/auth' }] },
      matrix: { homeserver: 'example.com', secret: 'shared-secret-for-synapse-after' },
    },
    'mas.yaml',
  ),
);

function write(rel: string, text: string): string {
  const path = join(dir, rel);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

function plan(paths: string[], extra: { endpoint?: string; secretPath?: string } = {}): SynapseAfterPlan {
  const merged = loadSynapseConfigFiles(paths);
  const files = expandSynapseConfigPaths(paths).map((path) => ({ path, text: readFileSync(path, 'utf8') }));
  return planSynapseAfter({ files, directories: paths.filter((p) => !p.endsWith('.yaml')), merged, synapse: parseSynapseConfig(merged), mas: MAS, ...extra });
}

/** Applies a unified diff to a file's lines, as patch would (and fails where it would not apply). */
function applyPatch(oldLines: string[], diff: string): string[] {
  const out: string[] = [];
  let at = 0;
  const lines = diff.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@$/.exec(lines[i] ?? '');
    if (m === null) continue;
    const start = Number(m[2] === '0' ? Number(m[1]) : Number(m[1]) - 1);
    while (at < start) out.push(oldLines[at++] ?? '');
    for (i++; i < lines.length && !(lines[i] ?? '').startsWith('@@') && !(lines[i] ?? '').startsWith('--- '); i++) {
      const l = lines[i] ?? '';
      if (l.startsWith('\\')) continue;
      if (l.startsWith(' ') || l.startsWith('-')) {
        expect(oldLines[at], 'the context or removed line matches the file').toBe(l.slice(1));
        at++;
        if (l.startsWith(' ')) out.push(l.slice(1));
      } else if (l.startsWith('+')) out.push(l.slice(1));
    }
    i--;
  }
  while (at < oldLines.length) out.push(oldLines[at++] ?? '');
  return out;
}

const HOMESERVER = `# Synapse, before MAS
server_name: example.com
report_stats: false

password_config:
  enabled: true
  pepper: "pepper-value-Q1w2e3"

# Registration
enable_registration: true
registration_shared_secret: "reg-shared-secret-Z9x8"

oidc_providers:
  - idp_id: corp
    idp_name: Corp
    issuer: https://id.corp.example/
    client_id: synapse
    client_secret: "oidc-client-secret-M5n6"
    # scopes: [openid, profile]

session_lifetime: 24h
media_store_path: /data/media
experimental_features:
  msc3861:
    enabled: false
  msc3266_enabled: true
`;

describe('planSynapseAfter', () => {
  it('removes every option Synapse refuses or ignores beside MAS, each with why, and adds the block', () => {
    const file = write('single/homeserver.yaml', HOMESERVER);
    const p = plan([file], { secretPath: '/etc/matrix-synapse/mas_secret' });
    expect(p.changes.map((c) => [c.key, c.action, c.effect])).toEqual([
      ['password_config', 'remove', 'refused'],
      ['enable_registration', 'remove', 'refused'],
      ['registration_shared_secret', 'remove', 'ignored'],
      ['oidc_providers', 'remove', 'refused'],
      ['session_lifetime', 'remove', 'refused'],
      ['experimental_features.msc3861', 'remove', 'refused'],
      ['matrix_authentication_service', 'add', undefined],
    ]);
    expect(p.changes.every((c) => c.why.length > 20 && !c.why.includes('\n'))).toBe(true);
    const after = parse(newText(p.files[0]!)) as Record<string, unknown>;
    expect(after).toEqual({
      server_name: 'example.com',
      report_stats: false,
      media_store_path: '/data/media',
      experimental_features: { msc3266_enabled: true },
      matrix_authentication_service: { enabled: true, endpoint: 'http://mas.internal:8080/auth/', secret_path: '/etc/matrix-synapse/mas_secret' },
    });
    // The comments the operator wrote stay; no run of blank lines is left behind.
    expect(newText(p.files[0]!)).toContain('# Synapse, before MAS\n');
    expect(newText(p.files[0]!)).not.toMatch(/\n\n\n/);
  });

  it('gives a patch that applies to the file, and a shown diff with the secrets hidden', () => {
    const file = write('single/homeserver.yaml', HOMESERVER);
    const p = plan([file]);
    const raw = renderPlanDiff(p, { mask: false });
    expect(applyPatch(p.files[0]!.oldLines, raw)).toEqual(p.files[0]!.newLines);
    expect(raw).toContain('oidc-client-secret-M5n6');
    const shown = renderPlanDiff(p, { mask: true });
    for (const secret of ['pepper-value-Q1w2e3', 'reg-shared-secret-Z9x8', 'oidc-client-secret-M5n6']) expect(shown).not.toContain(secret);
    expect(shown).toContain('-    client_secret: [redacted]');
    expect(shown).toContain('-    issuer: https://id.corp.example/');
    expect(shown.split('\n')[0]).toBe('# Changes to homeserver.yaml at the cut-over to MAS (mas-tool config synapse-after):');
  });

  it('removes a key from every file of a split config that sets it, and puts the block in a new conf.d file', () => {
    const main = write('split/homeserver.yaml', 'server_name: example.com\nenable_registration: true\npid_file: /run/synapse.pid\n');
    write('split/conf.d/10-registration.yaml', 'enable_registration: false\nenable_registration_captcha: true\n');
    write('split/conf.d/20-other.yaml', 'max_upload_size: 10M\n');
    const p = plan([main, join(dir, 'split/conf.d')]);
    expect(p.changes.map((c) => [c.file.slice(dir.length + 1), c.key, c.action])).toEqual([
      ['split/homeserver.yaml', 'enable_registration', 'remove'],
      ['split/conf.d/10-registration.yaml', 'enable_registration', 'remove'],
      ['split/conf.d/10-registration.yaml', 'enable_registration_captcha', 'remove'],
      ['split/conf.d/matrix_authentication_service.yaml', 'matrix_authentication_service', 'add'],
    ]);
    const created = p.files.find((f) => f.isNew)!;
    expect(parse(newText(created))).toMatchObject({ matrix_authentication_service: { enabled: true } });
    expect(renderPlanDiff(p, { mask: true })).toContain(`--- /dev/null\n+++ ${created.path}\n@@ -0,0 +1,`);
    // 10-registration.yaml becomes empty, which Synapse reads as no settings.
    expect(newText(p.files.find((f) => f.path.endsWith('10-registration.yaml'))!)).toBe('');
  });

  it('replaces an existing block in the last file that sets it, keeping force_http2, and leaves a correct one alone', () => {
    const file = write('existing/homeserver.yaml', 'server_name: example.com\nmatrix_authentication_service:\n  enabled: false\n  secret: "inline-shared-Aa11"\n  force_http2: true\n');
    const p = plan([file], { secretPath: '/run/secrets/mas' });
    expect(p.changes).toEqual([expect.objectContaining({ key: 'matrix_authentication_service', action: 'replace' })]);
    expect(parse(newText(p.files[0]!))).toEqual({ server_name: 'example.com', matrix_authentication_service: { enabled: true, endpoint: 'http://mas.internal:8080/auth/', secret_path: '/run/secrets/mas', force_http2: true } });
    expect(p.findings.map((f) => f.code)).toContain('I_SYNAPSE_AFTER_INLINE_SECRET');
    expect(renderPlanDiff(p, { mask: true })).not.toContain('inline-shared-Aa11');
    const done = write('existing/done.yaml', 'server_name: example.com\nmatrix_authentication_service:\n  enabled: true\n  endpoint: http://mas:8080/\n  secret_path: /run/secrets/mas\n');
    const again = plan([done]);
    expect(again.changes).toEqual([]);
    expect(renderPlanDiff(again, { mask: true })).toBe('');
  });

  it('leaves alone, with a warning, a key that defines an anchor other keys use', () => {
    const file = write('anchor/homeserver.yaml', 'server_name: example.com\nsession_lifetime: &life 24h\nuser_ips_max_age: *life\n');
    const p = plan([file]);
    expect(p.changes.map((c) => c.key)).toEqual(['matrix_authentication_service']);
    expect(p.findings).toContainEqual(expect.objectContaining({ code: 'W_SYNAPSE_AFTER_MANUAL', severity: 'warning' }));
    expect(p.findings.find((f) => f.code === 'W_SYNAPSE_AFTER_MANUAL')?.message).toContain('session_lifetime could not be changed automatically (it defines an anchor (&life) that other keys use)');
  });

  it('removes the whole experimental_features section when msc3861 is all it holds', () => {
    const file = write('msc/homeserver.yaml', 'server_name: example.com\nexperimental_features:\n  msc3861:\n    enabled: true\n    issuer: https://auth.example.com/\n    admin_token: "admin-token-Kk77"\n');
    const p = plan([file]);
    expect(p.changes[0]).toMatchObject({ key: 'experimental_features', action: 'remove', effect: 'refused' });
    expect(parse(newText(p.files[0]!))).not.toHaveProperty('experimental_features');
    expect(renderPlanDiff(p, { mask: true })).not.toContain('admin-token-Kk77');
  });
});

describe('masEndpoint', () => {
  const mas = (http: Record<string, unknown>) => parseMasConfig(sourced({ http, matrix: { homeserver: 'example.com' } }, 'mas.yaml'));
  it('takes the first listener with discovery and oauth, its bind and prefix; a wildcard bind becomes localhost, with a note', () => {
    expect(masEndpoint(MAS)).toEqual({ url: 'http://mas.internal:8080/auth/', note: 'from http.listeners[0] (internal) of the MAS config' });
    const wild = masEndpoint(mas({ public_base: 'https://a/', listeners: [{ resources: [{ name: 'human' }], binds: [{ address: '10.0.0.1:80' }] }, { resources: [{ name: 'discovery' }, { name: 'oauth' }], binds: [{ address: '[::]:8080' }] }] }));
    expect(wild).toMatchObject({ url: 'http://localhost:8080/', guess: true });
    expect(masEndpoint(mas({ public_base: 'https://auth.example.com/', listeners: [{ resources: [{ name: 'oauth' }, { name: 'discovery' }], binds: [{ socket: '/run/mas.sock' }] }] }))).toMatchObject({ url: 'https://auth.example.com/', guess: true });
    expect(masEndpoint(mas({ listeners: [] }))).toBeUndefined();
  });
});
