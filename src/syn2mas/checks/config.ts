// Checks of homeserver.yaml against the MAS config before a migration: the conditions mas-cli's
// syn2mas checks, plus the ones it misses (unicode normalisation on scheme v1, a newer scheme to
// rehash into, Synapse's implicit SAML, password provider modules listed without localdb off).
// Pure: the caller reads the configs and the v1 pepper file and counts local password users.
import { finding, type Finding } from '../../report/finding.js';
import { Secret } from '../../secret.js';
import type { MasPasswordScheme } from '../../config/mas.js';
import type { ConfigCheckInput } from './inputs.js';

/** Every code checkConfig can return, in the order it returns them (errors, then warnings). */
export const CONFIG_CHECK_CODES = [
  'E_SERVER_NAME_MISMATCH',
  'E_PASSWORD_SCHEME_MISSING',
  'E_PASSWORD_SCHEME_NOT_BCRYPT',
  'E_PASSWORD_PEPPER_MISMATCH',
  'E_PASSWORD_UNICODE_NORMALIZATION',
  'E_GUEST_ACCESS_ENABLED',
  'E_3PID_CHANGES_ENABLED',
  'E_LOGIN_VIA_EXISTING_SESSION',
  'W_NO_REHASH_SCHEME',
  'W_PASSWORDS_DISABLED',
  'W_REGISTRATION_ENABLED',
  'W_USER_CONSENT',
  'W_CONSENT_NOT_PORTED',
  'W_CAPTCHA_NOT_PORTED',
  'W_CAS',
  'W_SAML',
  'W_JWT',
  'W_PASSWORD_PROVIDER',
] as const;

export type ConfigCheckCode = (typeof CONFIG_CHECK_CODES)[number];

/** Where the placeholder for the pepper points; the value itself is never written anywhere. */
const PEPPER_KEY = 'password_config.pepper';

export function checkConfig(input: ConfigCheckInput): Finding[] {
  const { synapse, mas } = input;
  const hs = synapseLabel(synapse.files);
  const masCfg = masLabel(mas.files);
  const users = input.localPasswordUsers;
  const out: Finding[] = [];

  // --- errors ---------------------------------------------------------------------------------

  if (synapse.serverName !== mas.matrix.homeserver) {
    out.push(
      finding(
        'E_SERVER_NAME_MISMATCH',
        'error',
        `MAS matrix.homeserver is "${mas.matrix.homeserver}" but Synapse server_name is "${synapse.serverName}"; they must be identical.`,
        {
          fix: `In ${masCfg} set \`matrix.homeserver: ${yamlScalar(synapse.serverName)}\` (the server_name from ${hs}, exactly).`,
          details: {
            synapseServerName: synapse.serverName,
            masHomeserver: mas.matrix.homeserver,
            yaml: `matrix:\n  homeserver: ${yamlScalar(synapse.serverName)}\n`,
          },
        },
      ),
    );
  }

  const schemes = mas.passwords.schemes;
  const v1 = schemes.find((s) => s.version === 1);
  const hasNewer = schemes.some((s) => s.version > 1);
  const synapsePepper = nonEmpty(synapse.passwordConfig.pepper);
  const masPepper = nonEmpty(input.masV1Pepper);
  const pepperPlaceholder = `<the same value as ${PEPPER_KEY} in ${hs}>`;

  // Decision: every password-scheme finding is raised only when Synapse has users with a local
  // password hash. mas-cli raises MissingPasswordScheme, PasswordSchemeNotBcrypt and
  // PasswordSchemeWrongPepper regardless, but without such users no migrated hash depends on
  // scheme v1, and an SSO-only server would be told to configure a scheme it never uses.
  if (users > 0) {
    if (v1 === undefined) {
      out.push(
        finding(
          'E_PASSWORD_SCHEME_MISSING',
          'error',
          `The MAS config has no password scheme with version 1, the version migrated Synapse password hashes are stored with; ${usersText(users)} could not log in.`,
          {
            fix: `In ${masCfg} under passwords.schemes add a scheme with \`version: 1\`, \`algorithm: bcrypt\`, \`unicode_normalization: true\`${synapsePepper ? ` and \`secret\` set to the same value as ${PEPPER_KEY} in ${hs}` : ''}.`,
            details: {
              users,
              versions: schemes.map((s) => s.version),
              yaml: passwordsYaml({
                v1: v1Entry({ pepper: synapsePepper ? { kind: 'inline', placeholder: pepperPlaceholder } : undefined }),
                addV2: !hasNewer,
              }),
            },
          },
        ),
      );
    } else {
      const isDefault = isMasDefaultScheme(v1);
      const where = isDefault
        ? 'MAS default scheme (no passwords.schemes in the MAS config)'
        : `scheme ${v1.keyPath}`;
      const correctedPepper: PepperLine | undefined = synapsePepper
        ? v1.secret?.kind === 'file'
          ? { kind: 'file', path: v1.secret.path, placeholder: pepperPlaceholder }
          : { kind: 'inline', placeholder: pepperPlaceholder }
        : undefined;
      const corrected = (): string =>
        isDefault
          ? passwordsYaml({ v1: v1Entry({ cost: v1.cost, pepper: correctedPepper }), addV2: !hasNewer })
          : replaceV1Yaml(v1, v1Entry({ cost: v1.cost, pepper: correctedPepper }));

      // Decision: like the missing scheme, only when local password hashes exist (see above).
      if (v1.algorithm !== 'bcrypt') {
        out.push(
          finding(
            'E_PASSWORD_SCHEME_NOT_BCRYPT',
            'error',
            `MAS password scheme version 1 (${where}) uses ${v1.algorithm}, but migrated Synapse password hashes are bcrypt; ${usersText(users)} could not log in.`,
            {
              fix: isDefault
                ? `In ${masCfg} add passwords.schemes with a version 1 bcrypt scheme (and a version 2 ${v1.algorithm} scheme for new passwords).`
                : `In ${masCfg} set \`algorithm: bcrypt\` on ${v1.keyPath} (version 1); to keep ${v1.algorithm} for new passwords, add it as a scheme with a higher version.`,
              details: { users, version: 1, algorithm: v1.algorithm, key: v1.keyPath, masDefault: isDefault, yaml: corrected() },
            },
          ),
        );
      }

      const pepper = comparePepper(synapsePepper, masPepper);
      if (pepper !== 'equal') {
        const src = v1.secret;
        const masKey = src?.key ?? `${v1.keyPath}.secret`;
        let message: string;
        let fix: string;
        let yaml: string | undefined = corrected();
        if (pepper === 'synapse-only') {
          message = `Synapse peppers password hashes (${PEPPER_KEY}) but MAS password scheme version 1 has no secret: no migrated password would verify.`;
          fix = `In ${masCfg} set \`secret\` on ${isDefault ? 'the version 1 scheme' : v1.keyPath} to the same value as ${PEPPER_KEY} in ${hs}.`;
        } else if (pepper === 'mas-only') {
          message = `MAS password scheme version 1 has a secret (${masKey}) but Synapse has no ${PEPPER_KEY}: no migrated password would verify.`;
          fix = `In ${masCfg} remove \`${masKey.split('.').pop() ?? 'secret'}\` from ${v1.keyPath}.`;
        } else if (pepper === 'trailing-newline') {
          if (src?.kind === 'file') {
            message = `The pepper file ${src.path} (${src.key}) differs from ${PEPPER_KEY} only by a trailing newline, which MAS keeps because it reads secret_file as raw bytes: no migrated password would verify.`;
            fix = `Remove the final newline from ${src.path} (for example \`truncate -s -1 ${src.path}\`), or replace ${src.key} in ${masCfg} with \`secret\` set to the same value as ${PEPPER_KEY} in ${hs}.`;
            yaml = undefined;
          } else {
            message = `MAS ${masKey} differs from ${PEPPER_KEY} only by a trailing newline (a YAML \`|\` block keeps it): no migrated password would verify.`;
            fix = `In ${masCfg} write ${masKey} without the trailing newline (a quoted string, or \`|-\` instead of \`|\`).`;
          }
        } else {
          const origin = src?.kind === 'file' ? `the file ${src.path} (${src.key})` : masKey;
          message = `The pepper of MAS password scheme version 1 (${origin}) differs from Synapse's ${PEPPER_KEY}: no migrated password would verify.`;
          fix =
            src?.kind === 'file'
              ? `Write ${src.path} with exactly the same value as ${PEPPER_KEY} in ${hs}, with no trailing newline (MAS reads secret_file as raw bytes).`
              : `In ${masCfg} set ${masKey} to the same value as ${PEPPER_KEY} in ${hs}.`;
        }
        const details: Record<string, unknown> = {
          users,
          synapseKey: PEPPER_KEY,
          synapsePepperSet: synapsePepper !== undefined,
          masKey,
          masPepperSet: masPepper !== undefined,
          masSecretSource: src?.kind ?? 'none',
          trailingNewlineOnly: pepper === 'trailing-newline',
        };
        if (src?.kind === 'file') details.masSecretFile = src.path;
        if (yaml !== undefined) details.yaml = yaml;
        out.push(finding('E_PASSWORD_PEPPER_MISMATCH', 'error', message, { fix, details }));
      }

      if (!v1.unicodeNormalization) {
        out.push(
          finding(
            'E_PASSWORD_UNICODE_NORMALIZATION',
            'error',
            `MAS password scheme version 1 (${where}) lacks \`unicode_normalization: true\`: Synapse NFKC-normalises passwords before hashing, so passwords with some non-ASCII characters would stop working.`,
            {
              fix: isDefault
                ? `In ${masCfg} add passwords.schemes with a version 1 scheme that sets \`unicode_normalization: true\`.`
                : `In ${masCfg} set \`unicode_normalization: true\` on ${v1.keyPath} (version 1).`,
              details: { users, key: v1.keyPath, masDefault: isDefault, yaml: corrected() },
            },
          ),
        );
      }
    }
  }

  if (synapse.allowGuestAccess) {
    out.push(
      finding('E_GUEST_ACCESS_ENABLED', 'error', 'Synapse allows guest access, which MAS does not support (MAS issue #1445).', {
        fix: `In ${hs} set \`allow_guest_access: false\`. Existing guest accounts are reported by the database checks.`,
        details: { key: 'allow_guest_access', yaml: 'allow_guest_access: false\n' },
      }),
    );
  }

  if (synapse.enable3pidChanges === true) {
    out.push(
      finding('E_3PID_CHANGES_ENABLED', 'error', 'Synapse enable_3pid_changes is true; with MAS, email addresses are managed by MAS, not Synapse.', {
        fix: `In ${hs} set \`enable_3pid_changes: false\` (or remove the key).`,
        details: { key: 'enable_3pid_changes', yaml: 'enable_3pid_changes: false\n' },
      }),
    );
  }

  if (synapse.loginViaExistingSessionEnabled) {
    out.push(
      finding(
        'E_LOGIN_VIA_EXISTING_SESSION',
        'error',
        'Synapse login_via_existing_session is enabled, which cannot work once MAS handles logins.',
        {
          fix: `In ${hs} set \`login_via_existing_session.enabled: false\`.`,
          details: { key: 'login_via_existing_session.enabled', yaml: 'login_via_existing_session:\n  enabled: false\n' },
        },
      ),
    );
  }

  // --- warnings -------------------------------------------------------------------------------

  // Without local password hashes nothing needs upgrading; MAS's single default scheme is fine.
  if (users > 0 && v1 !== undefined && !hasNewer) {
    out.push(
      finding(
        'W_NO_REHASH_SCHEME',
        'warning',
        'The MAS config has no password scheme newer than version 1, so migrated bcrypt hashes are never upgraded and new passwords are hashed with scheme 1.',
        {
          fix: `In ${masCfg} under passwords.schemes add \`- version: 2\` with \`algorithm: argon2id\`; MAS then rehashes each migrated password at its next login.`,
          details: { users, versions: schemes.map((s) => s.version), yaml: '# add to the list under passwords.schemes:\n    - version: 2\n      algorithm: argon2id\n' },
        },
      ),
    );
  }

  if (users > 0 && !mas.passwords.enabled) {
    out.push(
      finding(
        'W_PASSWORDS_DISABLED',
        'warning',
        `MAS passwords are disabled (passwords.enabled: false), so the ${users} migrated user${users === 1 ? '' : 's'} with a Synapse password cannot log in with it.`,
        {
          fix: `If those users should keep logging in with their password, set \`passwords.enabled: true\` in ${masCfg}; if they all log in through SSO, nothing to do.`,
          details: { users, key: 'passwords.enabled', yaml: 'passwords:\n  enabled: true\n' },
        },
      ),
    );
  }

  if (synapse.enableRegistration) {
    const masLines = ['account:', '  password_registration_enabled: true'];
    if (synapse.registrationRequiresToken) masLines.push('  password_registration_token_required: true');
    out.push(
      finding(
        'W_REGISTRATION_ENABLED',
        'warning',
        'Synapse enable_registration is true; after the migration registration is handled by MAS and must be off in Synapse.',
        {
          fix: `After the migration and before Synapse starts again, set \`enable_registration: false\` in ${hs}; to keep open registration, set \`account.password_registration_enabled: true\` in ${masCfg}.`,
          details: {
            key: 'enable_registration',
            registrationRequiresToken: synapse.registrationRequiresToken,
            yaml: 'enable_registration: false\n',
            masYaml: `${masLines.join('\n')}\n`,
          },
        },
      ),
    );
  }

  if (synapse.userConsent) {
    out.push(
      finding('W_USER_CONSENT', 'warning', 'Synapse user_consent is configured; it must be removed after the migration, as MAS handles consent to terms.', {
        fix: `After the migration and before Synapse starts again, remove the \`user_consent\` section from ${hs}.`,
        details: { key: 'user_consent' },
      }),
    );
  }

  if (synapse.userConsent && mas.tosUri === undefined) {
    out.push(
      finding('W_CONSENT_NOT_PORTED', 'warning', 'Synapse asks users to consent to terms (user_consent) but the MAS config has no branding.tos_uri.', {
        fix: `In ${masCfg} set \`branding.tos_uri\` to the URL of your terms of service.`,
        details: { key: 'branding.tos_uri', yaml: 'branding:\n  tos_uri: <URL of your terms of service>\n' },
      }),
    );
  }

  if (synapse.enableRegistrationCaptcha && mas.captchaService === undefined) {
    const siteKey = synapse.recaptchaPublicKey === undefined ? '<recaptcha_public_key from homeserver.yaml>' : yamlScalar(synapse.recaptchaPublicKey);
    out.push(
      finding('W_CAPTCHA_NOT_PORTED', 'warning', 'Synapse protects registration with a CAPTCHA but the MAS config has no captcha.service.', {
        fix: `In ${masCfg} add a \`captcha\` section: \`service: recaptcha_v2\`, \`site_key\` = recaptcha_public_key and \`secret_key\` = recaptcha_private_key from ${hs}.`,
        details: {
          key: 'captcha.service',
          yaml: `captcha:\n  service: recaptcha_v2\n  site_key: ${siteKey}\n  secret_key: <the same value as recaptcha_private_key in ${hs}>\n`,
        },
      }),
    );
  }

  const external: Array<[boolean, ConfigCheckCode, string, string, string]> = [
    [synapse.casEnabled, 'W_CAS', 'CAS', 'cas_config', 'cas'],
    [synapse.saml2Enabled, 'W_SAML', 'SAML2', 'saml2_config', 'saml'],
    [synapse.jwtEnabled, 'W_JWT', 'JWT', 'jwt_config', 'jwt'],
  ];
  for (const [enabled, code, name, key, provider] of external) {
    if (!enabled) continue;
    out.push(
      finding(code, 'warning', `Synapse has ${name} login enabled (${key}); MAS only supports OIDC/OAuth 2.0 upstream providers.`, {
        fix:
          `Put an OIDC bridge such as Dex in front of the ${name} identity provider, add it in ${masCfg} under upstream_oauth2.providers, ` +
          `and pre-link the existing ${name} users to it; then remove \`${key}\` from ${hs} after the migration.`,
        details: { key, system: name, authProvider: provider },
      }),
    );
  }

  const pw = synapse.passwordConfig;
  const localdbOff = pw.enabled !== false && !pw.localdbEnabled;
  if (synapse.passwordProviders.length > 0 || localdbOff) {
    const modules = synapse.passwordProviders;
    const what = modules.length > 0 ? `password provider module${modules.length === 1 ? '' : 's'} ${modules.join(', ')}` : 'a password provider (password_config.localdb_enabled is false)';
    out.push(
      finding('W_PASSWORD_PROVIDER', 'warning', `Synapse uses ${what}; MAS does not run Synapse password providers, and users who log in through them have no password hash to migrate.`, {
        fix:
          `Give MAS an OIDC upstream for the same directory (for example Dex with an LDAP connector) under upstream_oauth2.providers in ${masCfg}, ` +
          `pre-link those users to it, and remove the providers from ${hs} after the migration.`,
        details: { modules, localdbEnabled: pw.localdbEnabled, passwordsEnabled: pw.enabled },
      }),
    );
  }

  return out;
}

type PepperComparison = 'equal' | 'synapse-only' | 'mas-only' | 'trailing-newline' | 'different';

/** Compares the two peppers byte for byte; reveals bytes only to strip a newline, never outputs them. */
function comparePepper(synapse: Secret | undefined, mas: Secret | undefined): PepperComparison {
  if (synapse === undefined && mas === undefined) return 'equal';
  if (synapse === undefined) return 'mas-only';
  if (mas === undefined) return 'synapse-only';
  if (synapse.equals(mas)) return 'equal';
  const bytes = mas.revealBytes();
  if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0a && Secret.fromBytes(bytes.subarray(0, -1)).equals(synapse)) {
    return 'trailing-newline';
  }
  return 'different';
}

/** An empty pepper appends nothing to the password, exactly like no pepper. */
function nonEmpty(secret: Secret | undefined): Secret | undefined {
  return secret === undefined || secret.byteLength === 0 ? undefined : secret;
}

/** The parser gives MAS's built-in default scheme the key path of the (absent) list itself. */
function isMasDefaultScheme(scheme: MasPasswordScheme): boolean {
  return scheme.keyPath === 'passwords.schemes';
}

type PepperLine = { kind: 'inline'; placeholder: string } | { kind: 'file'; path: string; placeholder: string };

/** A version 1 scheme as a YAML list item indented for `passwords.schemes`, no secret value in it. */
function v1Entry(opts: { cost?: number | undefined; pepper: PepperLine | undefined }): string {
  const lines = ['    - version: 1', '      algorithm: bcrypt'];
  if (opts.cost !== undefined) lines.push(`      cost: ${opts.cost}`);
  lines.push('      unicode_normalization: true');
  if (opts.pepper?.kind === 'inline') lines.push(`      secret: ${JSON.stringify(opts.pepper.placeholder)}`);
  if (opts.pepper?.kind === 'file') {
    lines.push(`      # the file must hold exactly ${opts.pepper.placeholder.slice(1, -1)}, with no trailing newline`);
    lines.push(`      secret_file: ${yamlScalar(opts.pepper.path)}`);
  }
  return `${lines.join('\n')}\n`;
}

function passwordsYaml(opts: { v1: string; addV2: boolean }): string {
  let yaml = `passwords:\n  schemes:\n${opts.v1}`;
  if (opts.addV2) yaml += '    - version: 2\n      algorithm: argon2id\n';
  return yaml;
}

function replaceV1Yaml(v1: MasPasswordScheme, entry: string): string {
  return `# under passwords.schemes, replace ${v1.keyPath} (version 1) with:\n${entry}`;
}

function usersText(n: number): string {
  return n === 1 ? '1 user with a local password' : `${n} users with a local password`;
}

function synapseLabel(files: readonly string[]): string {
  if (files.length === 1 && files[0] !== undefined) return files[0];
  return files.length === 0 ? 'homeserver.yaml' : `the Synapse config (${files.join(', ')})`;
}

function masLabel(files: readonly string[]): string {
  return files.length === 0 ? 'the MAS config' : `the MAS config (${files.join(', ')})`;
}

const YAML_RESERVED = /^(?:y|yes|n|no|true|false|on|off|null|~)$/i;

/** A string as a YAML scalar: plain when that reads back as the same string, else double-quoted. */
function yamlScalar(value: string): string {
  const plain = /^[A-Za-z0-9_/][A-Za-z0-9._/:-]*$/.test(value) && !/^[0-9._:+-]+$/.test(value) && !YAML_RESERVED.test(value);
  return plain ? value : JSON.stringify(value);
}
