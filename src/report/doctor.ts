// Renders doctor results for people: the client base URL the checks used and how it was found, one
// line per check with ✅ ⚠️ ❌, the fix and a documentation link under each problem, and a closing
// count.
import type { CheckResult } from '../doctor/check.js';
import type { DiscoveryReport } from '../doctor/client-discovery.js';
import type { Palette } from './output.js';

const MARK: Record<CheckResult['status'], string> = { pass: '✅', warn: '⚠️ ', fail: '❌', skip: '⏭️ ' };

/** One line: which base URL the client-facing checks used, and from where; null when none was looked up. */
export function renderDiscovery(d: DiscoveryReport, p: Palette): string {
  if (d.baseUrl === null) {
    return `Client base URL: ${p.yellow('unknown')} (${d.reason ?? 'no client well-known'}); routing checks skipped, name it with --base-url URL.`;
  }
  const from = d.baseUrlFrom === '--base-url' ? 'from --base-url' : `m.homeserver.base_url of ${d.wellKnown.url}`;
  if (!d.baseUrlUsable) return `Client base URL: ${d.baseUrl} (${from}), ${p.red('not a working Matrix homeserver')}; routing checks skipped.`;
  return `Client base URL: ${d.baseUrl} (${from}).`;
}

export function renderDoctor(results: readonly CheckResult[], p: Palette, discovery: DiscoveryReport | null = null): string[] {
  const lines: string[] = [];
  if (discovery !== null) lines.push(renderDiscovery(discovery, p), '');
  for (const r of results) {
    const text = r.status === 'fail' ? p.red(r.message) : r.status === 'warn' ? p.yellow(r.message) : r.status === 'skip' ? p.dim(r.message) : r.message;
    lines.push(`${MARK[r.status]} ${p.dim(`[${r.id}]`)} ${text}`);
    if (r.status === 'warn' || r.status === 'fail') {
      if (r.fix !== undefined) lines.push(`   ${p.dim('fix:')} ${r.fix}`);
      const yaml = r.details?.yaml;
      if (typeof yaml === 'string') lines.push(...yaml.replace(/\n+$/, '').split('\n').map((l) => `      ${l}`));
      if (r.docs !== undefined) lines.push(`   ${p.dim('docs:')} ${r.docs}`);
    }
  }
  const count = (s: CheckResult['status']) => results.filter((r) => r.status === s).length;
  lines.push('', `${count('pass')} passed, ${count('warn')} warnings, ${count('fail')} failed, ${count('skip')} skipped.`);
  return lines;
}
