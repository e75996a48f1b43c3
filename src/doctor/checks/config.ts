// Checks that compare homeserver.yaml with the MAS config, without any network: the server name,
// the shared secret (read from files the way each program reads them, compared as bytes and never
// shown), a leftover experimental_features.msc3861 block, and the Synapse options that cannot coexist
// with MAS. Each is skipped when doctor was not given --synapse-config.
import { synapseConflicts } from '../../config/mas-coexistence.js';
import type { ParsedSynapseConfig } from '../../config/synapse.js';
import { readSecretSource, type SecretSource } from '../../config/secret-source.js';
import { configSecrets, findWeakSecrets, WEAK_SECRET_SCRUBBING, weakSecretsFix, weakSecretsSentence } from '../../config/weak-secrets.js';
import { MasToolError } from '../../errors.js';
import { Secret } from '../../secret.js';
import { DOCS, type CheckResult, type DoctorCheck, type DoctorContext } from '../check.js';

type Outcome = Omit<CheckResult, 'id' | 'family'>;

export const SECRET_PLACEHOLDER = '<the value of matrix.secret in the MAS config>';

const NO_SYNAPSE: Outcome = {
  status: 'skip',
  message: 'Skipped: no Synapse configuration was given (pass --synapse-config homeserver.yaml to compare it with the MAS config).',
};

function synapseFiles(s: ParsedSynapseConfig): string {
  return s.files.length === 0 ? 'homeserver.yaml' : s.files.join(', ');
}

function masFiles(ctx: DoctorContext): string {
  return ctx.mas.files.length === 0 ? 'the MAS config' : ctx.mas.files.join(', ');
}

/** The `matrix_authentication_service` block to paste, with a placeholder instead of the secret. */
export function masIntegrationYaml(endpoint: string, secret: { path: string } | undefined = undefined): string {
  const lines = [
    'matrix_authentication_service:',
    '  enabled: true',
    '  # Where Synapse reaches MAS; an internal address such as http://mas:8080/ is fine.',
    `  endpoint: ${JSON.stringify(endpoint)}`,
  ];
  if (secret !== undefined) {
    lines.push(`  # This file must hold the same value as matrix.secret in the MAS config.`, `  secret_path: ${JSON.stringify(secret.path)}`);
  } else {
    lines.push(`  secret: ${JSON.stringify(SECRET_PLACEHOLDER)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Where Synapse should reach MAS when homeserver.yaml does not say. */
function masEndpointGuess(ctx: DoctorContext): string {
  return ctx.mas.http.publicBase ?? ctx.issuer ?? 'http://localhost:8080/';
}

// ---------------------------------------------------------------------------------------------
// config.server_name

function serverNameCheck(ctx: DoctorContext): Outcome {
  const synapse = ctx.synapse;
  if (synapse === undefined) return NO_SYNAPSE;
  const serverName = synapse.serverName;
  const homeserver = ctx.mas.matrix.homeserver;
  const details = { synapseServerName: serverName, masHomeserver: homeserver };
  if (serverName === homeserver) {
    return { status: 'pass', message: `Synapse's server_name and MAS's matrix.homeserver are both ${serverName}.`, details };
  }
  const hostOf = (s: string): string => s.replace(/:\d+$/, '');
  let why: string;
  if (serverName.toLowerCase() === homeserver.toLowerCase()) {
    why = 'They differ only in letter case, but the server name is compared exactly (it is part of every Matrix ID).';
  } else if (hostOf(serverName).toLowerCase() === hostOf(homeserver).toLowerCase()) {
    why = 'They differ in the port: a port written in server_name is part of the server name and of every Matrix ID, so both must be written the same way.';
  } else if (homeserver === 'localhost:8008') {
    why = 'localhost:8008 is MAS\'s default: matrix.homeserver is probably not set in the MAS config.';
  } else if (homeserver.toLowerCase().endsWith(`.${hostOf(serverName).toLowerCase()}`)) {
    why = `matrix.homeserver must be the server name (the part after ":" in Matrix IDs such as @alice:${serverName}), not the host where Synapse runs; that host goes in matrix.endpoint.`;
  } else {
    why = 'MAS would create and look up users under another server name than Synapse.';
  }
  return {
    status: 'fail',
    message: `Synapse's server_name is "${serverName}" (${synapseFiles(synapse)}) but MAS's matrix.homeserver is "${homeserver}" (${masFiles(ctx)}). ${why}`,
    fix: `Set matrix.homeserver: "${serverName}" in the MAS config. Do not change server_name in homeserver.yaml: it cannot change once users exist.`,
    docs: DOCS.homeserver,
    details,
  };
}

// ---------------------------------------------------------------------------------------------
// config.shared_secret

type Tool = 'MAS' | 'Synapse';

// Rust's str::trim (MAS) removes Unicode White_Space; Python's str.strip() (Synapse) removes the same
// characters plus the ASCII separators U+001C..U+001F. Neither removes a byte order mark (U+FEFF),
// which JavaScript's trim() would.
const WHITE_SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const STRIP: Record<Tool, RegExp> = {
  MAS: new RegExp(`^[${WHITE_SPACE}]+|[${WHITE_SPACE}]+$`, 'g'),
  Synapse: new RegExp(`^[${WHITE_SPACE}\\x1c-\\x1f]+|[${WHITE_SPACE}\\x1c-\\x1f]+$`, 'g'),
};

interface SideSecret {
  tool: Tool;
  /** "matrix.secret in mas.yaml", "the file /run/secret (matrix.secret_file in mas.yaml)". */
  where: string;
  kind: 'inline' | 'file';
  /** The file, for a secret read from one. */
  path?: string;
  /** The value the tool really uses. */
  effective: Secret;
  /** A file whose whitespace the tool stripped (not a problem, worth saying). */
  strippedWhitespace: boolean;
}

type SideRead = { ok: true; side: SideSecret } | { ok: false; message: string; fix?: string };

function describeSource(source: SecretSource, defaultFile: string): string {
  const file = source.file ?? defaultFile;
  return source.kind === 'inline' ? `${source.key} in ${file}` : `the file ${source.path} (${source.key} in ${file})`;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function readSide(tool: Tool, source: SecretSource, defaultFile: string): SideRead {
  const where = describeSource(source, defaultFile);
  if (source.kind === 'inline') {
    return { ok: true, side: { tool, where, kind: 'inline', effective: source.value, strippedWhitespace: false } };
  }
  let raw: Buffer;
  try {
    raw = readSecretSource(source, 'raw').revealBytes();
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error), ...(error instanceof MasToolError && error.hint ? { fix: error.hint } : {}) };
  }
  let text: string;
  try {
    text = UTF8.decode(raw);
  } catch {
    return {
      ok: false,
      message: `${where} is not UTF-8 text; ${tool} reads the shared secret as text and cannot use it.`,
      fix: 'Write the secret to the file as plain ASCII or UTF-8 text.',
    };
  }
  const stripped = text.replace(STRIP[tool], '');
  return { ok: true, side: { tool, where, kind: 'file', path: source.path, effective: Secret.fromString(stripped), strippedWhitespace: stripped !== text } };
}

/** What a value has at its ends that the other side lacks, in words. */
function oddities(value: string): string[] {
  const out: string[] = [];
  if (value.startsWith('\ufeff')) out.push('a byte order mark (U+FEFF) at the start');
  const body = value.replace(/^\ufeff/, '');
  if (/^\s/.test(body)) out.push('leading whitespace');
  if (/\r?\n$/.test(body)) out.push(/\r\n$/.test(body) ? 'a trailing CRLF line break' : 'a trailing newline');
  else if (/\s$/.test(body)) out.push('trailing whitespace');
  return out;
}

function why(side: SideSecret): string {
  if (side.kind === 'inline') {
    return side.tool === 'Synapse'
      ? 'Synapse uses an inline secret exactly as written (a YAML block scalar `|` keeps the final newline; `|-` or a quoted string does not)'
      : 'MAS uses an inline matrix.secret exactly as written (a YAML block scalar `|` keeps the final newline; `|-` or a quoted string does not)';
  }
  return `${side.tool} strips only whitespace from the file, not a byte order mark`;
}

function what(odd: string[]): string {
  const bom = odd.some((o) => o.includes('byte order mark'));
  const ws = odd.some((o) => !o.includes('byte order mark'));
  if (bom && ws) return 'a byte order mark and whitespace';
  if (bom) return 'a byte order mark';
  return ws ? 'whitespace' : 'invisible characters';
}

/** Compares the two effective secrets; on a mismatch, says as precisely as possible how they differ. */
function compareSecrets(mas: SideSecret, synapse: SideSecret): { match: true } | { match: false; message: string; fix: string; difference: string } {
  if (mas.effective.equals(synapse.effective)) return { match: true };
  const a = mas.effective.reveal();
  const b = synapse.effective.reveal();
  const ends = (s: string): Secret => Secret.fromString(s.replace(/^\ufeff/, '').trim());
  const both = `${synapse.where} and ${mas.where}`;
  if (ends(a).equals(ends(b))) {
    const culprits = [
      { side: mas, odd: oddities(a) },
      { side: synapse, odd: oddities(b) },
    ].filter((c) => c.odd.length > 0);
    const parts = culprits.map((c) => `${c.side.where} has ${c.odd.join(' and ')}: ${why(c.side)}`);
    if (culprits.length === 0) parts.push(`${both} differ in invisible characters at their ends`);
    return {
      match: false,
      difference: 'whitespace-at-ends',
      message: `The shared secrets differ only by ${what(culprits.flatMap((c) => c.odd))} at their ends: ${parts.join('; ')}.`,
      fix: culprits.length === 0 ? `Put exactly the same value in ${both}.` : culprits
        .map((c) =>
          c.side.kind === 'inline'
            ? `Remove the extra characters from ${c.side.where} (write it as a quoted string).`
            : `Rewrite ${c.side.path} without the byte order mark (save it as UTF-8 without BOM, e.g. printf '%s' "$SECRET" > file).`,
        )
        .join(' '),
    };
  }
  const squeeze = (s: string): Secret => Secret.fromString(s.replace(/[\s\ufeff]+/g, ''));
  if (squeeze(a).equals(squeeze(b))) {
    const inside = [mas, synapse].filter((s) => /\s/.test(s.effective.reveal().trim())).map((s) => s.where);
    return {
      match: false,
      difference: 'whitespace-inside',
      message: `The shared secrets differ only by whitespace inside the value (a line break or space in ${inside.join(' and ') || 'one of them'}).`,
      fix: `Put the same single-line value in ${both}.`,
    };
  }
  return {
    match: false,
    difference: 'value',
    message: `The shared secrets differ: ${both} must hold the same value. MAS then gets 403 from Synapse's /_synapse/mas API, and Synapse cannot introspect tokens (503 on every request).`,
    fix: `Put the same value in ${both}, then restart Synapse and MAS.`,
  };
}

function sharedSecretCheck(ctx: DoctorContext): Outcome {
  const synapse = ctx.synapse;
  if (synapse === undefined) return NO_SYNAPSE;
  const hsFile = synapseFiles(synapse);
  const integration = synapse.mas;
  if (integration === undefined) {
    const legacy = synapse.msc3861 !== undefined ? ' It still has the legacy experimental_features.msc3861 block instead (see config.legacy_msc3861).' : '';
    return {
      status: 'fail',
      message: `${hsFile} has no matrix_authentication_service section, so Synapse does not delegate authentication to MAS.${legacy}`,
      fix: 'Add the matrix_authentication_service block shown below to homeserver.yaml, with the shared secret of the MAS config, and restart Synapse.',
      docs: DOCS.homeserver,
      details: { yaml: masIntegrationYaml(masEndpointGuess(ctx)) },
    };
  }
  const details: Record<string, unknown> = {};
  const problems: string[] = [];
  const fixes: string[] = [];
  let masSide: SideSecret | undefined;
  let synSide: SideSecret | undefined;

  if (ctx.mas.matrix.secret === undefined) {
    problems.push(`The MAS config (${masFiles(ctx)}) sets neither matrix.secret nor matrix.secret_file.`);
    fixes.push('Set matrix.secret (or matrix.secret_file) in the MAS config.');
  } else {
    const r = readSide('MAS', ctx.mas.matrix.secret, masFiles(ctx));
    if (r.ok) masSide = r.side;
    else {
      problems.push(r.message);
      if (r.fix) fixes.push(r.fix);
    }
  }
  if (integration.secret === undefined) {
    problems.push(`${hsFile} sets neither matrix_authentication_service.secret nor matrix_authentication_service.secret_path; Synapse refuses to start without one when the integration is enabled.`);
    fixes.push('Set matrix_authentication_service.secret (or secret_path) in homeserver.yaml to the value of matrix.secret in the MAS config.');
  } else {
    const r = readSide('Synapse', integration.secret, hsFile);
    if (r.ok) synSide = r.side;
    else {
      problems.push(r.message);
      if (r.fix) fixes.push(r.fix);
    }
  }
  for (const side of [masSide, synSide]) {
    if (side === undefined) continue;
    details[side.tool === 'MAS' ? 'mas' : 'synapse'] = { source: side.where, kind: side.kind, ...(side.strippedWhitespace ? { strippedWhitespace: true } : {}) };
  }

  let comparison: ReturnType<typeof compareSecrets> | undefined;
  if (masSide !== undefined && synSide !== undefined) {
    comparison = compareSecrets(masSide, synSide);
    if (!comparison.match) {
      problems.push(comparison.message);
      fixes.push(comparison.fix);
      details.difference = comparison.difference;
      details.byteLengths = { mas: masSide.effective.byteLength, synapse: synSide.effective.byteLength };
    }
  }

  if (!integration.enabled) {
    const secretFile = integration.secret?.kind === 'file' ? { path: integration.secret.path } : undefined;
    const tail = comparison?.match === true ? ' The shared secrets themselves match.' : problems.length > 0 ? ` In addition: ${problems.join(' ')}` : '';
    return {
      status: 'fail',
      message: `matrix_authentication_service.enabled is not true in ${hsFile}: Synapse does not delegate authentication to MAS.${tail}`,
      fix: `Set matrix_authentication_service as shown below, with the shared secret of the MAS config, and restart Synapse.${fixes.length > 0 ? ` ${fixes.join(' ')}` : ''}`,
      docs: DOCS.homeserver,
      details: { ...details, yaml: masIntegrationYaml(integration.endpoint, secretFile) },
    };
  }
  if (problems.length > 0) {
    return { status: 'fail', message: problems.join(' '), fix: fixes.join(' '), docs: DOCS.homeserver, details };
  }
  const stripped = [masSide, synSide].filter((s): s is SideSecret => s?.strippedWhitespace === true).map((s) => s.where);
  return {
    status: 'pass',
    message: `The shared secret in ${synSide?.where} equals ${masSide?.where}${stripped.length > 0 ? ` (whitespace at the ends of ${stripped.join(' and ')} is stripped, as the programs do)` : ''}.`,
    details,
  };
}

// ---------------------------------------------------------------------------------------------
// config.legacy_msc3861

function legacyMsc3861Check(ctx: DoctorContext): Outcome {
  const synapse = ctx.synapse;
  if (synapse === undefined) return NO_SYNAPSE;
  const legacy = synapse.msc3861;
  const hsFile = synapseFiles(synapse);
  if (legacy === undefined) {
    return { status: 'pass', message: `${hsFile} has no experimental_features.msc3861 block.` };
  }
  const endpoint = legacy.issuer ?? masEndpointGuess(ctx);
  const yaml = masIntegrationYaml(endpoint);
  const stable = synapse.mas?.enabled === true;
  const both = stable && legacy.enabled ? ' Synapse 1.136 to 1.156 also refuse to start with both it and matrix_authentication_service enabled.' : '';
  const legacyClient = legacy.clientId;
  const client = legacyClient !== undefined && ctx.mas.clients.some((c) => c.clientId === legacyClient.toUpperCase()) ? legacyClient : undefined;
  const steps = [
    stable
      ? 'Delete the experimental_features.msc3861 block from homeserver.yaml; matrix_authentication_service is already set.'
      : 'Replace the experimental_features.msc3861 block in homeserver.yaml with the matrix_authentication_service block shown below; its secret is the old admin_token, which equals matrix.secret in the MAS config.',
    ...(client !== undefined ? [`The client ${client} in the MAS config's clients list was only for msc3861 introspection; it can be removed.`] : []),
  ];
  return {
    status: 'fail',
    message: `${hsFile} still has the legacy experimental_features.msc3861 block (enabled: ${legacy.enabled}); Synapse 1.157 and later refuse to start with it.${both}`,
    fix: steps.join(' '),
    docs: DOCS.homeserver,
    details: {
      yaml,
      msc3861: {
        enabled: legacy.enabled,
        ...(legacy.issuer !== undefined ? { issuer: legacy.issuer } : {}),
        ...(legacy.clientId !== undefined ? { clientId: legacy.clientId } : {}),
        ...(legacy.adminToken !== undefined ? { adminToken: legacy.adminToken.key } : {}),
      },
      matrixAuthenticationServiceEnabled: stable,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// config.synapse_conflicts

// The rules are shared with `mas-tool config synapse-after` (src/config/mas-coexistence.ts).

function synapseConflictsCheck(ctx: DoctorContext): Outcome {
  const synapse = ctx.synapse;
  if (synapse === undefined) return NO_SYNAPSE;
  const hsFile = synapseFiles(synapse);
  const { list, notes } = synapseConflicts(synapse);
  const noteDetails = notes.length > 0 ? { notes } : {};
  if (list.length === 0) {
    return { status: 'pass', message: `${hsFile} sets no option that conflicts with MAS.`, details: { conflicts: [], ...noteDetails } };
  }
  return {
    status: 'fail',
    message:
      `${hsFile} sets ${list.length} option${list.length === 1 ? '' : 's'} that cannot coexist with MAS (Synapse refuses to start with them once matrix_authentication_service is enabled): ` +
      `${list.map((c) => `${c.key} ${c.problem}`).join('; ')}.`,
    fix: list.map((c) => `${c.key}: ${c.fix}.`).join(' '),
    docs: DOCS.homeserver,
    details: { conflicts: list, ...noteDetails },
  };
}

// ---------------------------------------------------------------------------------------------
// config.secret_strength

function secretStrengthCheck(ctx: DoctorContext): Outcome {
  const secrets = configSecrets(ctx.mas, ctx.synapse);
  const weak = findWeakSecrets(secrets);
  const judged = secrets.map((s) => s.key);
  if (weak.length === 0) {
    return {
      status: 'pass',
      message: judged.length === 0 ? 'No secret to judge could be read here.' : `The secrets read here are long and not guessable: ${judged.join(', ')}.`,
      details: { judged },
    };
  }
  return {
    status: 'warn',
    message: `${weak.length === 1 ? 'A secret is' : `${weak.length} secrets are`} weak: ${weakSecretsSentence(weak)}. A weak secret is easier to guess, and ${WEAK_SECRET_SCRUBBING}.`,
    fix: weakSecretsFix(weak),
    docs: DOCS.general,
    details: { judged, weak },
  };
}

export const configChecks: DoctorCheck[] = [
  { id: 'config.server_name', family: 'config', run: async (ctx) => serverNameCheck(ctx) },
  { id: 'config.shared_secret', family: 'config', run: async (ctx) => sharedSecretCheck(ctx) },
  { id: 'config.legacy_msc3861', family: 'config', run: async (ctx) => legacyMsc3861Check(ctx) },
  { id: 'config.synapse_conflicts', family: 'config', run: async (ctx) => synapseConflictsCheck(ctx) },
  { id: 'config.secret_strength', family: 'config', run: async (ctx) => secretStrengthCheck(ctx) },
];
