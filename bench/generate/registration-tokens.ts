// Registration tokens: a few, as operators hand them out (users / 5,000, at least 6), one of each
// kind in turn so that even a small server has every kind: expired, used up, unlimited and never
// expiring, usable with a registration in progress, usable without expiry, usable until a future day.
import { DAY_MS, type GenContext } from './context.js';

export function registrationTokenCount(users: number): number {
  return Math.max(6, Math.round(users / 5000));
}

export function addRegistrationTokenSteps(ctx: GenContext): void {
  const { h, letters20, n, nowMs, step } = ctx;
  const days = (salt: string): string => `((1 + ${h('k', salt)} % 365) * ${DAY_MS})`;
  const allowed = `(1 + ${h('k', 'regtok-uses')} % 20)::int`;
  step(
    'registration_tokens',
    `INSERT INTO registration_tokens (token, uses_allowed, pending, completed, expiry_time)
     SELECT ${letters20('k', 'regtok')},
            CASE k % 6 WHEN 2 THEN NULL ELSE ${allowed} END,
            CASE k % 6 WHEN 3 THEN 1 ELSE 0 END,
            CASE k % 6 WHEN 1 THEN ${allowed} WHEN 2 THEN (${h('k', 'regtok-done')} % 50)::int ELSE (${h('k', 'regtok-done')} % ${allowed})::int END,
            CASE k % 6 WHEN 0 THEN ${nowMs} - ${days('regtok-ago')} WHEN 5 THEN ${nowMs} + ${days('regtok-until')} END
       FROM generate_series(1, ${registrationTokenCount(n)}) AS k`,
  );
}
