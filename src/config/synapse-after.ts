// `mas-tool config synapse-after`: the changes homeserver.yaml needs at cut-over, made to the
// operator's own files line by line (so the diff shows only them): the matrix_authentication_service
// block (enabled, where Synapse reaches MAS, the shared secret by secret_path, never inline), and
// every option Synapse refuses or ignores beside MAS removed from every file that sets it (Synapse
// merges its files shallowly, so a key left in an earlier file would come back). The rules are
// mas-coexistence.ts, shared with doctor. Pure: the files come in as text, the diff goes out.
import { dirname, join, resolve } from 'node:path';
import { finding, type Finding } from '../report/finding.js';
import { unifiedDiff } from './line-diff.js';
import { isRefused, MAS_OPTION_RULES, synapseConflicts, type Coexistence } from './mas-coexistence.js';
import type { ParsedMasConfig } from './mas.js';
import type { SourcedConfig } from './read.js';
import { parseSynapseConfig, type ParsedSynapseConfig } from './synapse.js';
import { isMapFile, locateKey, maskLine, readYamlLines, secretLines } from './yaml-lines.js';

export const BLOCK_KEY = 'matrix_authentication_service';
const DEFAULT_SECRET_FILE = 'mas_shared_secret';

export interface SynapseAfterInput {
  /** The files Synapse reads, in merge order, with their text. */
  files: ReadonlyArray<{ path: string; text: string }>;
  /** Directories among the --synapse-config paths (a conf.d): the block goes into a new file there. */
  directories: readonly string[];
  merged: SourcedConfig;
  synapse: ParsedSynapseConfig;
  mas: ParsedMasConfig;
  /** --endpoint */
  endpoint?: string;
  /** --secret-path */
  secretPath?: string;
}

export interface Change {
  file: string;
  key: string;
  action: 'remove' | 'add' | 'replace';
  /** For removals: whether Synapse would refuse to start with it, or only ignore it. */
  effect?: Coexistence;
  why: string;
}

export interface FilePlan {
  path: string;
  /** The block goes into a file that does not exist yet. */
  isNew: boolean;
  oldLines: string[];
  newLines: string[];
  oldEndsWithNewline: boolean;
  newEndsWithNewline: boolean;
  /** Old lines holding secret values (hidden in what is printed). */
  secretLines: Set<number>;
}

export interface SynapseAfterPlan {
  block: string;
  endpoint: string;
  secretPath: string;
  changes: Change[];
  files: FilePlan[];
  findings: Finding[];
}

/** Where Synapse should reach MAS: the first listener serving discovery and oauth, else public_base. */
export function masEndpoint(mas: ParsedMasConfig): { url: string; note: string; guess?: boolean } | undefined {
  for (const [i, l] of mas.http.listeners.entries()) {
    if (!l.resources.includes('oauth') || !l.resources.includes('discovery')) continue;
    for (const b of l.binds) {
      let host = b.host;
      let port = b.port;
      if (b.address !== undefined) {
        const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(b.address);
        if (m === null) continue;
        host = m[1] ?? m[2];
        port = Number(m[3]);
      }
      if (port === undefined) continue;
      const prefix = (l.prefix ?? '').replace(/^\/*/, '/').replace(/\/*$/, '/');
      const wildcard = host === undefined || host === '' || host === '::' || host === '0.0.0.0';
      const name = wildcard || host === undefined ? 'localhost' : host.includes(':') ? `[${host}]` : host;
      const url = `http://${name}:${port}${prefix}`;
      const where = `http.listeners[${i}]${l.name !== undefined ? ` (${l.name})` : ''}`;
      if (!wildcard) return { url, note: `from ${where} of the MAS config` };
      return { url, note: `from ${where} of the MAS config, which listens on every address`, guess: true };
    }
  }
  if (mas.http.publicBase !== undefined) return { url: mas.http.publicBase, note: "MAS's public URL (http.public_base): no listener with discovery and oauth has a usable bind", guess: true };
  return undefined;
}

function blockText(endpoint: string, endpointNote: string | undefined, secretPath: string, forceHttp2: boolean): string[] {
  return [
    `${BLOCK_KEY}:`,
    '  enabled: true',
    '  # Where Synapse reaches MAS (its discovery and oauth resources).',
    ...(endpointNote !== undefined ? [`  # The address is ${endpointNote}.`] : []),
    `  endpoint: ${JSON.stringify(endpoint)}`,
    '  # A file holding the value of matrix.secret of the MAS config, readable by Synapse.',
    `  secret_path: ${JSON.stringify(secretPath)}`,
    ...(forceHttp2 ? ['  force_http2: true'] : []),
  ];
}

interface Edit {
  first: number;
  last: number;
  replacement: string[];
}

const blank = (line: string | undefined): boolean => line === undefined || line.trim() === '';

/** A removal between two blank lines also takes the second, so that no gap of two is left behind. */
function withBlankAfter(lines: readonly string[], first: number, last: number): number {
  return blank(lines[first - 1]) && last + 1 < lines.length && blank(lines[last + 1]) ? last + 1 : last;
}

function applyEdits(lines: readonly string[], edits: readonly Edit[]): string[] {
  const out = [...lines];
  // From the bottom up, so that earlier line numbers stay right; overlapping edits were merged away.
  for (const e of [...edits].sort((a, b) => b.first - a.first)) out.splice(e.first, e.last - e.first + 1, ...e.replacement);
  return out;
}

export function planSynapseAfter(input: SynapseAfterInput): SynapseAfterPlan {
  const findings: Finding[] = [];
  const changes: Change[] = [];
  const current = input.synapse.mas;
  const parsed = input.files.map((f) => ({ ...f, y: readYamlLines(f.text) }));

  const derived = masEndpoint(input.mas);
  const endpoint = input.endpoint ?? (current?.endpoint !== undefined && current.enabled ? current.endpoint : undefined) ?? derived?.url ?? 'http://localhost:8080/';
  const endpointNote = input.endpoint !== undefined ? 'given with --endpoint' : current?.enabled === true ? 'kept from homeserver.yaml' : derived?.note;
  if (input.endpoint === undefined && current?.enabled !== true && derived?.guess === true) {
    findings.push(finding('I_SYNAPSE_AFTER_ENDPOINT', 'info', `The endpoint ${derived.url} is ${derived.note}: right when Synapse runs on the same host as MAS.`, { fix: "Otherwise pass --endpoint with MAS's internal address as Synapse sees it (http://mas:8080/, say)." }));
  }
  if (input.endpoint === undefined && current?.enabled !== true && derived === undefined) {
    findings.push(finding('W_SYNAPSE_AFTER_ENDPOINT', 'warning', 'The MAS config names no listener with the discovery and oauth resources and no http.public_base, so the endpoint is a guess (http://localhost:8080/).', { fix: 'Pass --endpoint with the address where Synapse reaches MAS.' }));
  }
  const masSecretFile = input.mas.matrix.secret?.kind === 'file' ? input.mas.matrix.secret.path : undefined;
  const existingPath = current?.secret?.kind === 'file' ? current.secret.path : undefined;
  const firstFile = input.files[0]?.path ?? 'homeserver.yaml';
  const secretPath = input.secretPath ?? existingPath ?? masSecretFile ?? join(dirname(resolve(firstFile)), DEFAULT_SECRET_FILE);
  if (current?.secret?.kind === 'inline') {
    findings.push(finding('I_SYNAPSE_AFTER_INLINE_SECRET', 'info', `The inline matrix_authentication_service.secret is replaced by secret_path ${secretPath}: put the same value in that file.`));
  }
  const lines = blockText(endpoint, endpointNote, secretPath, current?.forceHttp2 === true);

  // Which present options Synapse would refuse once the block is in: judged on the config as it
  // will be, since some defaults change with the integration on (password_config.enabled).
  const after = parseSynapseConfig({ ...input.merged, value: { ...input.merged.value, [BLOCK_KEY]: { enabled: true, endpoint, secret_path: secretPath } } });
  const conflicts = synapseConflicts(after).list;

  const edits = new Map<string, Edit[]>(parsed.map((f) => [f.path, []]));
  const manual = (file: string, key: string, why: string) =>
    findings.push(finding('W_SYNAPSE_AFTER_MANUAL', 'warning', `${file}: ${key} could not be changed automatically (${why}).`, { fix: `Edit ${key} in ${file} by hand.`, details: { file, key } }));

  for (const f of parsed) {
    if (!isMapFile(f.y)) {
      manual(f.path, '(the whole file)', 'its top level is not a mapping of keys');
      continue;
    }
    for (const rule of MAS_OPTION_RULES) {
      const span = locateKey(f.y, rule.key);
      if (span === undefined) continue;
      const effect: Coexistence = isRefused(rule, conflicts) ? 'refused' : 'ignored';
      if (span.manual !== undefined) {
        manual(f.path, rule.key, span.manual);
        continue;
      }
      edits.get(f.path)!.push({ first: span.first, last: withBlankAfter(f.y.lines, span.first, span.last), replacement: [] });
      const key = span.wholeSection === true ? rule.key.split('.')[0]! : rule.key;
      changes.push({ file: f.path, key, action: 'remove', effect, why: `${effect === 'refused' ? 'Synapse refuses it beside MAS' : 'Synapse ignores it beside MAS'}: ${rule.why}` });
    }
  }
  // A key set only through a YAML merge key (<<) cannot be removed from a file's own lines.
  for (const rule of MAS_OPTION_RULES) {
    const top = rule.key.split('.')[0]!;
    if (input.merged.value[top] === undefined || rule.key.includes('.')) continue;
    if (!parsed.some((f) => locateKey(f.y, top) !== undefined)) manual(input.merged.fileOf(top) ?? firstFile, top, 'it comes from a YAML merge key (<<)');
  }

  // The block: replaces the last one set (the one Synapse reads), else goes into a new conf.d file
  // or at the end of the first file.
  const holder = [...parsed].reverse().find((f) => locateKey(f.y, BLOCK_KEY) !== undefined);
  const files: FilePlan[] = [];
  let newFile: FilePlan | undefined;
  if (holder !== undefined) {
    const span = locateKey(holder.y, BLOCK_KEY)!;
    // Already what it should be (its wording aside): the operator's block stays as written.
    const same = current?.enabled === true && current.endpoint === endpoint && current.secret?.kind === 'file' && current.secret.path === secretPath;
    if (span.manual !== undefined) manual(holder.path, BLOCK_KEY, span.manual);
    else if (!same) {
      edits.get(holder.path)!.push({ first: span.first, last: span.last, replacement: lines });
      changes.push({ file: holder.path, key: BLOCK_KEY, action: 'replace', why: 'Synapse delegates authentication to MAS' });
    }
  } else if (input.directories.length > 0) {
    const path = join(input.directories[input.directories.length - 1]!, `${BLOCK_KEY}.yaml`);
    newFile = { path, isNew: true, oldLines: [], newLines: lines, oldEndsWithNewline: true, newEndsWithNewline: true, secretLines: new Set() };
    changes.push({ file: path, key: BLOCK_KEY, action: 'add', why: 'Synapse delegates authentication to MAS (a new file in the conf.d directory)' });
  } else {
    const f = parsed[0];
    if (f !== undefined) {
      const end = f.y.lines.length;
      const spacer = end > 0 && (f.y.lines[end - 1] ?? '').trim() !== '' ? [''] : [];
      edits.get(f.path)!.push({ first: end, last: end - 1, replacement: [...spacer, ...lines] });
      changes.push({ file: f.path, key: BLOCK_KEY, action: 'add', why: 'Synapse delegates authentication to MAS' });
    }
  }

  for (const f of parsed) {
    const fileEdits = edits.get(f.path) ?? [];
    if (fileEdits.length === 0) continue;
    const endsWithNewline = f.text === '' || f.text.endsWith('\n');
    // A block appended at the end brings its own final line break; otherwise the file keeps its own.
    const appended = fileEdits.some((e) => e.first >= f.y.lines.length && e.replacement.length > 0);
    files.push({
      path: f.path,
      isNew: false,
      oldLines: f.y.lines,
      newLines: applyEdits(f.y.lines, fileEdits),
      oldEndsWithNewline: endsWithNewline,
      newEndsWithNewline: appended || endsWithNewline,
      secretLines: secretLines(f.y),
    });
  }
  if (newFile !== undefined) files.push(newFile);
  return { block: `${lines.join('\n')}\n`, endpoint, secretPath, changes, files, findings };
}

/**
 * The plan as text: a comment line per change (why it is made), then the unified diff of every
 * changed file. `patch` and `git apply` skip the comment lines. With `mask`, lines that hold a
 * secret show `[redacted]` instead of their value.
 */
export function renderPlanDiff(plan: SynapseAfterPlan, options: { mask: boolean }): string {
  if (plan.changes.length === 0) return '';
  const out: string[] = ['# Changes to homeserver.yaml at the cut-over to MAS (mas-tool config synapse-after):'];
  for (const c of plan.changes) out.push(`#   ${c.action === 'remove' ? 'remove ' : c.action === 'replace' ? 'replace' : 'add    '} ${c.key} (${c.file}): ${c.why}`);
  const masked = options.mask && plan.files.some((f) => f.secretLines.size > 0);
  if (masked) out.push('# Lines holding secrets show [redacted]: this copy is for review; --output FILE writes one that applies.');
  const text = [`${out.join('\n')}\n`];
  for (const f of plan.files) {
    text.push(
      unifiedDiff({
        oldName: f.isNew ? '/dev/null' : f.path,
        newName: f.path,
        oldLines: f.oldLines,
        newLines: f.newLines,
        oldEndsWithNewline: f.oldEndsWithNewline,
        newEndsWithNewline: f.newEndsWithNewline,
        ...(options.mask ? { hide: f.secretLines, show: maskLine } : {}),
      }),
    );
  }
  return text.join('');
}

/** A file's new text, as it would be written. */
export function newText(f: FilePlan): string {
  return f.newLines.length === 0 ? '' : `${f.newLines.join('\n')}${f.newEndsWithNewline ? '\n' : ''}`;
}
