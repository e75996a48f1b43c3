// Renders doctor results for people: one line per check with ✅ ⚠️ ❌, the fix and a documentation
// link under each problem, and a closing count.
import type { CheckResult } from '../doctor/check.js';
import type { Palette } from './output.js';

const MARK: Record<CheckResult['status'], string> = { pass: '✅', warn: '⚠️ ', fail: '❌', skip: '⏭️ ' };

export function renderDoctor(results: readonly CheckResult[], p: Palette): string[] {
  const lines: string[] = [];
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
