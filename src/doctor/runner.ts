// Runs doctor checks concurrently, each as soon as the checks it depends on are done, and returns
// every result in the order the checks are listed. A check whose prerequisite did not pass is skipped
// with that reason, so that one root cause is reported once.
import { MasToolError } from '../errors.js';
import { scrubSecrets } from '../secret.js';
import type { CheckResult, DoctorCheck, DoctorContext } from './check.js';

export interface RunOptions {
  /** Run only the checks of these families. */
  only?: ReadonlySet<string>;
  /** Check ids not to run. */
  skip?: ReadonlySet<string>;
}

export async function runChecks(checks: readonly DoctorCheck[], ctx: DoctorContext, options: RunOptions = {}): Promise<CheckResult[]> {
  const results = new Map<string, CheckResult>();
  const running = new Map<string, Promise<CheckResult>>();

  const start = (check: DoctorCheck): Promise<CheckResult> => {
    const existing = running.get(check.id);
    if (existing !== undefined) return existing;
    const promise = (async (): Promise<CheckResult> => {
      const base = { id: check.id, family: check.family };
      if (options.skip?.has(check.id)) return { ...base, status: 'skip', message: 'Skipped with --skip.' };
      if (options.only !== undefined && !options.only.has(check.family)) return { ...base, status: 'skip', message: `Skipped: only ${[...options.only].join(', ')} checks were asked for.` };
      const deps = [...(check.requires ?? []), ...(check.after ?? [])];
      await Promise.all(deps.map((id) => checks.find((c) => c.id === id)).filter((c): c is DoctorCheck => c !== undefined).map(start));
      const failed = (check.requires ?? []).filter((id) => results.get(id)?.status !== 'pass');
      if (failed.length > 0) return { ...base, status: 'skip', message: `Skipped because ${failed.join(', ')} did not pass.` };
      try {
        return { ...base, ...(await check.run(ctx, results)) };
      } catch (error) {
        return { ...base, status: 'fail', message: `The check itself failed: ${error instanceof MasToolError ? error.message : scrubSecrets(error instanceof Error ? error.message : String(error))}` };
      }
    })().then((r) => {
      results.set(r.id, r);
      return r;
    });
    running.set(check.id, promise);
    return promise;
  };

  return Promise.all(checks.map(start));
}

/** 0 all passed (or skipped), 11 warnings only, 10 any failure. */
export function doctorExitCode(results: readonly CheckResult[]): 0 | 10 | 11 {
  if (results.some((r) => r.status === 'fail')) return 10;
  if (results.some((r) => r.status === 'warn')) return 11;
  return 0;
}
