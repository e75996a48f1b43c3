// Renders a syn2mas check report for people: errors, then warnings, then the summary, each finding
// with its fix, the YAML to paste and a few examples.
import type { Finding } from './finding.js';
import type { Palette } from './output.js';

export interface EntityPlanView {
  migrate: number;
  skipped: Record<string, number>;
}

const ENTITY_LABELS: Record<string, string> = {
  users: 'users',
  emails: 'emails',
  unsupportedThreepids: 'other 3PIDs',
  upstreamLinks: 'SSO links',
  devices: 'devices',
  accessTokens: 'access tokens',
  refreshTokens: 'refresh pairs',
  deviceless: 'deviceless tokens',
  registrationTokens: 'registration tokens',
};

const n = (x: number): string => x.toLocaleString('en-US');

export function renderFindings(title: string, list: readonly Finding[], p: Palette, accepted: ReadonlySet<string> = new Set()): string[] {
  if (list.length === 0) return [];
  const lines = [p.bold(`${title} (${list.length})`)];
  for (const f of list) {
    const mark = f.severity === 'error' ? p.red('✖') : f.severity === 'warning' ? p.yellow('!') : p.dim('i');
    const tag = accepted.has(f.code) ? ` ${p.dim('[accepted]')}` : '';
    lines.push(`  ${mark} ${p.bold(f.code)}${tag}  ${f.message}`);
    if (f.fix !== undefined) lines.push(`      ${p.dim('fix:')} ${f.fix}`);
    const yaml = f.details?.yaml;
    if (typeof yaml === 'string') lines.push(...yaml.replace(/\n+$/, '').split('\n').map((l) => `        ${l}`));
    const sql = f.details?.sql;
    // A statement on the line; several, one per line below, so that they paste as they are.
    if (typeof sql === 'string') lines.push(...(sql.includes('\n') ? [`      ${p.dim('sql:')}`, ...sql.split('\n').map((l) => `        ${l}`)] : [`      ${p.dim('sql:')} ${sql}`]));
    const examples = f.details?.examples;
    if (Array.isArray(examples) && examples.length > 0) {
      lines.push(`      ${p.dim('examples:')} ${examples.slice(0, 5).map(exampleText).join('; ')}${examples.length > 5 ? ` (+${examples.length - 5} more in --json)` : ''}`);
    }
  }
  return lines;
}

function exampleText(e: unknown): string {
  if (typeof e === 'string') return e;
  if (typeof e === 'object' && e !== null) return Object.values(e).map(String).join(' ');
  return String(e);
}

export function renderPlan(plan: Record<string, EntityPlanView>, p: Palette): string[] {
  const lines = [p.bold('Summary'), `  ${'entity'.padEnd(20)}${'migrate'.padStart(12)}  skipped`];
  for (const [key, e] of Object.entries(plan)) {
    const reasons = Object.entries(e.skipped).filter(([, v]) => v > 0);
    const total = reasons.reduce((a, [, v]) => a + v, 0);
    const why = reasons.length === 0 ? '' : ` (${reasons.map(([r, v]) => `${r.replace(/_/g, ' ')} ${n(v)}`).join(', ')})`;
    lines.push(`  ${(ENTITY_LABELS[key] ?? key).padEnd(20)}${n(e.migrate).padStart(12)}  ${n(total)}${why}`);
  }
  return lines;
}
