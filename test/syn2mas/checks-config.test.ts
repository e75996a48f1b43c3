import { describe, expect, it } from 'vitest';
import { parseMasConfig } from '../../src/config/mas.js';
import { parseSynapseConfig } from '../../src/config/synapse.js';
import type { Finding } from '../../src/report/finding.js';
import { Secret } from '../../src/secret.js';
import { CONFIG_CHECK_CODES, checkConfig } from '../../src/syn2mas/checks/config.js';
import type { ConfigCheckInput } from '../../src/syn2mas/checks/inputs.js';
import { sourced } from '../helpers/config.js';

const PEPPER = 'PEPPER-synapse-7f3a9c';
const OTHER_PEPPER = 'PEPPER-mas-91bc44';
const RECAPTCHA_PRIVATE = 'RECAPTCHA-private-5d2e8b';

type Doc = Record<string, unknown>;

const V1 = { version: 1, algorithm: 'bcrypt', unicode_normalization: true, secret: PEPPER };
const V2 = { version: 2, algorithm: 'argon2id' };

/** A homeserver.yaml and MAS config that migrate cleanly. */
const GOOD_SYNAPSE: Doc = { server_name: 'example.com', password_config: { pepper: PEPPER } };
const GOOD_MAS: Doc = { matrix: { homeserver: 'example.com' }, passwords: { schemes: [V2, V1] } };

interface Build {
  /** Top-level keys merged over GOOD_SYNAPSE (undefined removes a key). */
  synapse?: Doc;
  /** Top-level keys merged over GOOD_MAS (undefined removes a key). */
  mas?: Doc;
  /** The v1 pepper as read by the caller; by default the inline `secret` of the v1 scheme. */
  masV1Pepper?: Secret | null;
  users?: number;
}

function withoutUndefined(doc: Doc): Doc {
  return Object.fromEntries(Object.entries(doc).filter(([, v]) => v !== undefined));
}

function input(b: Build = {}): ConfigCheckInput {
  const synapse = parseSynapseConfig(sourced(withoutUndefined({ ...GOOD_SYNAPSE, ...b.synapse })));
  const mas = parseMasConfig(sourced(withoutUndefined({ ...GOOD_MAS, ...b.mas }), 'mas.yaml'));
  let masV1Pepper: Secret | undefined;
  if (b.masV1Pepper !== undefined) {
    masV1Pepper = b.masV1Pepper ?? undefined;
  } else {
    const v1 = mas.passwords.schemes.find((s) => s.version === 1);
    masV1Pepper = v1?.secret?.kind === 'inline' ? v1.secret.value : undefined;
  }
  return { synapse, mas, masV1Pepper, localPasswordUsers: b.users ?? 3 };
}

function run(b: Build = {}): Finding[] {
  return checkConfig(input(b));
}

function codes(findings: Finding[]): string[] {
  return findings.map((f) => f.code);
}

function only(findings: Finding[], code: string): Finding {
  const matching = findings.filter((f) => f.code === code);
  expect(matching, `exactly one ${code} in ${codes(findings).join(', ')}`).toHaveLength(1);
  return matching[0] as Finding;
}

function schemes(...list: Doc[]): Doc {
  return { passwords: { schemes: list } };
}

interface Case {
  code: string;
  severity: 'error' | 'warning';
  trigger: Build;
  clean: Build;
  /** Whether the finding's details carry a YAML snippet to paste. */
  yaml: boolean;
}

const CASES: Case[] = [
  {
    code: 'E_SERVER_NAME_MISMATCH',
    severity: 'error',
    trigger: { mas: { matrix: { homeserver: 'matrix.example.com' } } },
    clean: { synapse: { server_name: 'matrix.example.com' }, mas: { matrix: { homeserver: 'matrix.example.com' } } },
    yaml: true,
  },
  {
    code: 'E_PASSWORD_SCHEME_MISSING',
    severity: 'error',
    trigger: { mas: schemes({ ...V2, version: 3 }, V2) },
    clean: { mas: schemes({ ...V2, version: 3 }, V2), users: 0 },
    yaml: true,
  },
  {
    code: 'E_PASSWORD_SCHEME_NOT_BCRYPT',
    severity: 'error',
    trigger: { mas: schemes(V2, { ...V1, algorithm: 'argon2id' }) },
    clean: { mas: schemes(V2, { ...V1, algorithm: 'argon2id' }), users: 0 },
    yaml: true,
  },
  {
    code: 'E_PASSWORD_PEPPER_MISMATCH',
    severity: 'error',
    trigger: { mas: schemes(V2, { ...V1, secret: OTHER_PEPPER }) },
    clean: { synapse: { password_config: {} }, mas: schemes(V2, { ...V1, secret: undefined }) },
    yaml: true,
  },
  {
    code: 'E_PASSWORD_UNICODE_NORMALIZATION',
    severity: 'error',
    trigger: { mas: schemes(V2, { ...V1, unicode_normalization: false }) },
    clean: { mas: schemes(V2, { ...V1, unicode_normalization: false }), users: 0 },
    yaml: true,
  },
  {
    code: 'E_GUEST_ACCESS_ENABLED',
    severity: 'error',
    trigger: { synapse: { allow_guest_access: true } },
    clean: { synapse: { allow_guest_access: false } },
    yaml: true,
  },
  {
    code: 'E_3PID_CHANGES_ENABLED',
    severity: 'error',
    trigger: { synapse: { enable_3pid_changes: true } },
    clean: { synapse: { enable_3pid_changes: false } },
    yaml: true,
  },
  {
    code: 'E_LOGIN_VIA_EXISTING_SESSION',
    severity: 'error',
    trigger: { synapse: { login_via_existing_session: { enabled: true } } },
    clean: { synapse: { login_via_existing_session: { enabled: false } } },
    yaml: true,
  },
  {
    code: 'W_NO_REHASH_SCHEME',
    severity: 'warning',
    trigger: { mas: schemes(V1) },
    clean: { mas: schemes(V1), users: 0 },
    yaml: true,
  },
  {
    code: 'W_PASSWORDS_DISABLED',
    severity: 'warning',
    trigger: { mas: { passwords: { enabled: false, schemes: [V2, V1] } } },
    clean: { mas: { passwords: { enabled: false, schemes: [V2, V1] } }, users: 0 },
    yaml: true,
  },
  {
    code: 'W_REGISTRATION_ENABLED',
    severity: 'warning',
    trigger: { synapse: { enable_registration: true } },
    clean: { synapse: { enable_registration: false } },
    yaml: true,
  },
  {
    code: 'W_USER_CONSENT',
    severity: 'warning',
    trigger: { synapse: { user_consent: { version: '1.0', template_dir: 'res/templates/privacy' } }, mas: { branding: { tos_uri: 'https://example.com/tos' } } },
    clean: { mas: { branding: { tos_uri: 'https://example.com/tos' } } },
    yaml: false,
  },
  {
    code: 'W_CONSENT_NOT_PORTED',
    severity: 'warning',
    trigger: { synapse: { user_consent: { version: '1.0' } } },
    clean: { synapse: { user_consent: { version: '1.0' } }, mas: { branding: { tos_uri: 'https://example.com/tos' } } },
    yaml: true,
  },
  {
    code: 'W_CAPTCHA_NOT_PORTED',
    severity: 'warning',
    trigger: { synapse: { enable_registration_captcha: true, recaptcha_public_key: 'site-key-123', recaptcha_private_key: RECAPTCHA_PRIVATE } },
    clean: {
      synapse: { enable_registration_captcha: true, recaptcha_public_key: 'site-key-123', recaptcha_private_key: RECAPTCHA_PRIVATE },
      mas: { captcha: { service: 'recaptcha_v2', site_key: 'site-key-123', secret_key: RECAPTCHA_PRIVATE } },
    },
    yaml: true,
  },
  {
    code: 'W_CAS',
    severity: 'warning',
    trigger: { synapse: { cas_config: { enabled: true, server_url: 'https://cas.example.com' } } },
    clean: { synapse: { cas_config: { enabled: false, server_url: 'https://cas.example.com' } } },
    yaml: false,
  },
  {
    code: 'W_SAML',
    severity: 'warning',
    trigger: { synapse: { saml2_config: { sp_config: { metadata: {} } } } },
    clean: { synapse: { saml2_config: { enabled: false, sp_config: { metadata: {} } } } },
    yaml: false,
  },
  {
    code: 'W_JWT',
    severity: 'warning',
    trigger: { synapse: { jwt_config: { enabled: true, algorithm: 'HS256' } } },
    clean: { synapse: { jwt_config: { enabled: false } } },
    yaml: false,
  },
  {
    code: 'W_PASSWORD_PROVIDER',
    severity: 'warning',
    trigger: { synapse: { password_providers: [{ module: 'ldap_auth_provider.LdapAuthProvider', config: {} }] } },
    clean: { synapse: { password_providers: [] } },
    yaml: false,
  },
];

describe('checkConfig', () => {
  it('finds nothing wrong in a correct pair of configs', () => {
    expect(run()).toEqual([]);
  });

  it('has one trigger/clean case per exported code', () => {
    expect(CASES.map((c) => c.code)).toEqual([...CONFIG_CHECK_CODES]);
  });

  describe.each(CASES)('$code', ({ code, severity, trigger, clean, yaml }) => {
    it(`is a ${severity} with a message, a fix and details when triggered`, () => {
      const findings = run(trigger);
      const f = only(findings, code);
      expect(f.severity).toBe(severity);
      expect(f.message).toMatch(/\S/);
      expect(f.message).not.toContain('\n');
      expect(f.fix).toMatch(/\S/);
      expect(f.details).toBeDefined();
      if (yaml) expect(f.details?.yaml).toEqual(expect.stringMatching(/\S/));
      else expect(f.details?.yaml).toBeUndefined();
    });

    it('is absent when the condition does not hold', () => {
      expect(codes(run(clean))).not.toContain(code);
    });
  });

  it('names both server names and gives the MAS YAML', () => {
    const f = only(run({ mas: { matrix: { homeserver: 'Example.com' } } }), 'E_SERVER_NAME_MISMATCH');
    expect(f.details).toMatchObject({ synapseServerName: 'example.com', masHomeserver: 'Example.com' });
    expect(f.details?.yaml).toBe('matrix:\n  homeserver: example.com\n');
    expect(f.fix).toContain('mas.yaml');
  });

  it('quotes a server name that plain YAML would read as something else', () => {
    const f = only(
      run({ synapse: { server_name: '127.0.0.1:8448' }, mas: { matrix: { homeserver: 'localhost' } } }),
      'E_SERVER_NAME_MISMATCH',
    );
    expect(f.details?.yaml).toBe('matrix:\n  homeserver: "127.0.0.1:8448"\n');
  });

  describe('password schemes', () => {
    it('counts the users who need scheme v1 and offers a complete passwords section', () => {
      const f = only(run({ mas: schemes(V2), users: 42 }), 'E_PASSWORD_SCHEME_MISSING');
      expect(f.details?.users).toBe(42);
      expect(f.message).toContain('42 users');
      const yaml = String(f.details?.yaml);
      expect(yaml).toContain('- version: 1');
      expect(yaml).toContain('algorithm: bcrypt');
      expect(yaml).toContain('unicode_normalization: true');
      expect(yaml).toContain('secret: "<the same value as password_config.pepper in homeserver.yaml>"');
      // A v2 scheme already exists, so the snippet does not add a second one.
      expect(yaml).not.toContain('version: 2');
      // The scheme is missing: the other v1 findings would only repeat it.
      expect(codes(run({ mas: schemes(V2) }))).toEqual(['E_PASSWORD_SCHEME_MISSING']);
    });

    it('leaves the secret out of the suggested scheme when Synapse has no pepper', () => {
      const f = only(run({ synapse: { password_config: {} }, mas: schemes({ ...V2, version: 5 }) }), 'E_PASSWORD_SCHEME_MISSING');
      expect(String(f.details?.yaml)).not.toContain('secret');
    });

    it('reports every v1 problem of the MAS default scheme (argon2id, no pepper, no normalisation)', () => {
      const findings = run({ mas: { passwords: undefined } });
      expect(codes(findings)).toEqual([
        'E_PASSWORD_SCHEME_NOT_BCRYPT',
        'E_PASSWORD_PEPPER_MISMATCH',
        'E_PASSWORD_UNICODE_NORMALIZATION',
        'W_NO_REHASH_SCHEME',
      ]);
      const notBcrypt = only(findings, 'E_PASSWORD_SCHEME_NOT_BCRYPT');
      expect(notBcrypt.details).toMatchObject({ algorithm: 'argon2id', masDefault: true });
      expect(notBcrypt.message).toContain('default');
      expect(String(notBcrypt.details?.yaml)).toMatch(/^passwords:\n {2}schemes:\n {4}- version: 1\n/);
      expect(String(notBcrypt.details?.yaml)).toContain('- version: 2\n      algorithm: argon2id');
    });

    it('names the scheme key in the fix for a configured v1 scheme', () => {
      const f = only(run({ mas: schemes(V2, { ...V1, algorithm: 'pbkdf2' }) }), 'E_PASSWORD_SCHEME_NOT_BCRYPT');
      expect(f.fix).toContain('passwords.schemes[1]');
      expect(f.fix).toContain('algorithm: bcrypt');
      expect(f.details).toMatchObject({ algorithm: 'pbkdf2', key: 'passwords.schemes[1]', masDefault: false });
    });

    it('says non-ASCII passwords would break without unicode normalisation', () => {
      const f = only(run({ mas: schemes(V2, { ...V1, unicode_normalization: undefined }) }), 'E_PASSWORD_UNICODE_NORMALIZATION');
      expect(f.message).toMatch(/NFKC/);
      expect(f.message).toMatch(/non-ASCII/);
      expect(f.fix).toContain('unicode_normalization: true');
      expect(String(f.details?.yaml)).toContain('unicode_normalization: true');
    });

    it('suggests an argon2id v2 scheme for rehashing, and is quiet once any newer scheme exists', () => {
      const f = only(run({ mas: schemes(V1) }), 'W_NO_REHASH_SCHEME');
      expect(String(f.details?.yaml)).toContain('- version: 2\n      algorithm: argon2id');
      expect(f.fix).toContain('passwords.schemes');
      expect(codes(run({ mas: schemes(V1, { version: 7, algorithm: 'bcrypt' }) }))).not.toContain('W_NO_REHASH_SCHEME');
    });

    it('raises no password finding at all when there are no local password users', () => {
      expect(run({ mas: { passwords: undefined }, users: 0 })).toEqual([]);
      expect(run({ mas: schemes({ ...V1, algorithm: 'argon2id', secret: OTHER_PEPPER, unicode_normalization: false }), users: 0 })).toEqual([]);
    });
  });

  describe('pepper', () => {
    it('accepts the same pepper, including non-ASCII bytes', () => {
      const pepper = 'pépper-ünï-🔑';
      expect(run({ synapse: { password_config: { pepper } }, mas: schemes(V2, { ...V1, secret: pepper }) })).toEqual([]);
    });

    it('accepts no pepper on either side', () => {
      expect(run({ synapse: { password_config: {} }, mas: schemes(V2, { ...V1, secret: undefined }) })).toEqual([]);
    });

    it('treats an empty MAS secret like no pepper', () => {
      expect(run({ synapse: { password_config: {} }, mas: schemes(V2, { ...V1, secret: undefined }), masV1Pepper: Secret.fromString('') })).toEqual([]);
    });

    it('flags a pepper in Synapse that MAS lacks', () => {
      const f = only(run({ mas: schemes(V2, { ...V1, secret: undefined }) }), 'E_PASSWORD_PEPPER_MISMATCH');
      expect(f.severity).toBe('error');
      expect(f.message).toContain('no secret');
      expect(f.fix).toContain('the same value as password_config.pepper in homeserver.yaml');
      expect(f.details).toMatchObject({ synapsePepperSet: true, masPepperSet: false, trailingNewlineOnly: false });
      expect(String(f.details?.yaml)).toContain('secret: "<the same value as password_config.pepper in homeserver.yaml>"');
    });

    it('flags a pepper in MAS that Synapse lacks', () => {
      const f = only(run({ synapse: { password_config: {} } }), 'E_PASSWORD_PEPPER_MISMATCH');
      expect(f.details).toMatchObject({ synapsePepperSet: false, masPepperSet: true, masKey: 'passwords.schemes[1].secret' });
      expect(f.fix).toContain('remove `secret`');
      expect(String(f.details?.yaml)).not.toContain('secret');
    });

    it('flags a different inline pepper', () => {
      const f = only(run({ mas: schemes(V2, { ...V1, secret: OTHER_PEPPER }) }), 'E_PASSWORD_PEPPER_MISMATCH');
      expect(f.message).toContain('differs');
      expect(f.message).not.toContain('newline');
      expect(f.details).toMatchObject({ masSecretSource: 'inline', trailingNewlineOnly: false });
    });

    it('explains a secret_file that differs only by its trailing newline', () => {
      const f = only(
        run({
          mas: schemes(V2, { ...V1, secret: undefined, secret_file: '/etc/mas/pepper' }),
          masV1Pepper: Secret.fromBytes(Buffer.from(`${PEPPER}\n`)),
        }),
        'E_PASSWORD_PEPPER_MISMATCH',
      );
      expect(f.message).toContain('trailing newline');
      expect(f.message).toContain('/etc/mas/pepper');
      expect(f.message).toContain('secret_file');
      expect(f.fix).toContain('truncate -s -1 /etc/mas/pepper');
      expect(f.details).toMatchObject({
        trailingNewlineOnly: true,
        masSecretSource: 'file',
        masSecretFile: '/etc/mas/pepper',
        masKey: 'passwords.schemes[1].secret_file',
      });
    });

    it('accepts a secret_file whose bytes match exactly', () => {
      expect(
        run({ mas: schemes(V2, { ...V1, secret: undefined, secret_file: '/etc/mas/pepper' }), masV1Pepper: Secret.fromBytes(Buffer.from(PEPPER)) }),
      ).toEqual([]);
    });

    it('does not call a different secret_file a newline problem', () => {
      const f = only(
        run({
          mas: schemes(V2, { ...V1, secret: undefined, secret_file: '/etc/mas/pepper' }),
          masV1Pepper: Secret.fromBytes(Buffer.from(`${OTHER_PEPPER}\n`)),
        }),
        'E_PASSWORD_PEPPER_MISMATCH',
      );
      expect(f.message).not.toContain('trailing newline');
      expect(f.details).toMatchObject({ trailingNewlineOnly: false, masSecretSource: 'file' });
      expect(f.fix).toContain('no trailing newline');
    });

    it('only strips one trailing newline', () => {
      const f = only(
        run({
          mas: schemes(V2, { ...V1, secret: undefined, secret_file: '/etc/mas/pepper' }),
          masV1Pepper: Secret.fromBytes(Buffer.from(`${PEPPER}\n\n`)),
        }),
        'E_PASSWORD_PEPPER_MISMATCH',
      );
      expect(f.details?.trailingNewlineOnly).toBe(false);
    });

    it('explains an inline secret that keeps a newline from a YAML block scalar', () => {
      const f = only(run({ mas: schemes(V2, { ...V1, secret: `${PEPPER}\n` }) }), 'E_PASSWORD_PEPPER_MISMATCH');
      expect(f.message).toContain('trailing newline');
      expect(f.details).toMatchObject({ trailingNewlineOnly: true, masSecretSource: 'inline' });
    });
  });

  it('never puts a secret value into the findings', () => {
    const cases: Build[] = [
      { mas: schemes(V2, { ...V1, secret: OTHER_PEPPER }) },
      { mas: schemes(V2, { ...V1, secret: undefined }) },
      { mas: schemes(V2) },
      { mas: { passwords: undefined } },
      { synapse: { password_config: {} }, mas: schemes(V2, { ...V1, secret: OTHER_PEPPER }) },
      { mas: schemes(V2, { ...V1, secret: undefined, secret_file: '/p' }), masV1Pepper: Secret.fromBytes(Buffer.from(`${PEPPER}\n`)) },
      { mas: schemes(V2, { ...V1, secret: undefined, secret_file: '/p' }), masV1Pepper: Secret.fromBytes(Buffer.from(`${OTHER_PEPPER}\n`)) },
      { synapse: { enable_registration_captcha: true, recaptcha_public_key: 'site-key-123', recaptcha_private_key: RECAPTCHA_PRIVATE } },
    ];
    for (const b of cases) {
      const json = JSON.stringify(run(b));
      expect(json).not.toContain(PEPPER);
      expect(json).not.toContain(OTHER_PEPPER);
      expect(json).not.toContain(RECAPTCHA_PRIVATE);
      expect(json).not.toContain('[redacted]');
    }
  });

  it('keeps a stable order: errors in code order, then warnings', () => {
    const findings = run({
      synapse: {
        server_name: 'other.example',
        allow_guest_access: true,
        enable_3pid_changes: true,
        login_via_existing_session: { enabled: true },
        enable_registration: true,
        user_consent: { version: '1.0' },
        enable_registration_captcha: true,
        cas_config: { enabled: true },
        saml2_config: { enabled: true },
        jwt_config: { enabled: true },
        password_providers: [{ module: 'ldap_auth_provider.LdapAuthProvider' }],
      },
      mas: { passwords: { enabled: false, schemes: [{ version: 1, algorithm: 'argon2id', secret: OTHER_PEPPER }] } },
    });
    expect(codes(findings)).toEqual([...CONFIG_CHECK_CODES].filter((c) => c !== 'E_PASSWORD_SCHEME_MISSING'));
    const severities = findings.map((f) => f.severity);
    expect(severities.lastIndexOf('error')).toBeLessThan(severities.indexOf('warning'));
  });

  it('asks to turn registration off in Synapse and to enable it in MAS, with the token requirement', () => {
    const f = only(run({ synapse: { enable_registration: true, registration_requires_token: true } }), 'W_REGISTRATION_ENABLED');
    expect(f.details?.yaml).toBe('enable_registration: false\n');
    expect(f.details?.masYaml).toBe('account:\n  password_registration_enabled: true\n  password_registration_token_required: true\n');
    expect(f.fix).toContain('account.password_registration_enabled');
  });

  it('ports the reCAPTCHA site key but only a placeholder for the private key', () => {
    const f = only(
      run({ synapse: { enable_registration_captcha: true, recaptcha_public_key: 'site-key-123', recaptcha_private_key: RECAPTCHA_PRIVATE } }),
      'W_CAPTCHA_NOT_PORTED',
    );
    expect(String(f.details?.yaml)).toContain('service: recaptcha_v2');
    expect(String(f.details?.yaml)).toContain('site_key: site-key-123');
    expect(String(f.details?.yaml)).toContain('secret_key: <the same value as recaptcha_private_key in homeserver.yaml>');
  });

  it('points CAS, SAML and JWT users at an OIDC bridge', () => {
    const findings = run({ synapse: { cas_config: { enabled: true }, saml2_config: { config_path: '/saml.py' }, jwt_config: { enabled: true } } });
    expect(codes(findings)).toEqual(['W_CAS', 'W_SAML', 'W_JWT']);
    for (const f of findings) {
      expect(f.fix).toContain('Dex');
      expect(f.fix).toContain('upstream_oauth2.providers');
      expect(f.fix).toMatch(/pre-link/);
    }
  });

  describe('password providers', () => {
    it('lists the module names', () => {
      const f = only(
        run({ synapse: { password_providers: [{ module: 'ldap_auth_provider.LdapAuthProvider' }, { module: 'my.Provider' }] } }),
        'W_PASSWORD_PROVIDER',
      );
      expect(f.details?.modules).toEqual(['ldap_auth_provider.LdapAuthProvider', 'my.Provider']);
      expect(f.message).toContain('ldap_auth_provider.LdapAuthProvider, my.Provider');
    });

    it('counts an enabled ldap_config as a provider', () => {
      const f = only(run({ synapse: { ldap_config: { enabled: true, uri: 'ldap://ldap' } } }), 'W_PASSWORD_PROVIDER');
      expect(f.details?.modules).toEqual(['ldap_auth_provider.LdapAuthProvider']);
    });

    it('warns when the local password database is off while passwords are on', () => {
      const f = only(run({ synapse: { password_config: { pepper: PEPPER, localdb_enabled: false } } }), 'W_PASSWORD_PROVIDER');
      expect(f.details).toMatchObject({ modules: [], localdbEnabled: false });
    });

    it('does not warn when passwords are off altogether', () => {
      expect(codes(run({ synapse: { password_config: { pepper: PEPPER, enabled: false, localdb_enabled: false } } }))).not.toContain(
        'W_PASSWORD_PROVIDER',
      );
    });
  });

  it('does not flag enable_3pid_changes when it is absent', () => {
    expect(codes(run({ synapse: { enable_3pid_changes: undefined } }))).not.toContain('E_3PID_CHANGES_ENABLED');
  });
});
