// Turns the tallies of a comparison into the verify report: one finding per code, the MAS-in-use note and the summary.
import { finding, type Finding } from '../../report/finding.js';
import type { Comparison } from './context.js';
import { CODES, plural, type Code } from './findings.js';
import { describe } from './messages.js';
import type { Horizon } from './state.js';
import type { VerifyCount, VerifyReport } from './types.js';

const NEW_ACTIVITY: readonly Code[] = [
  'I_VERIFY_NEW_USERS',
  'I_VERIFY_USER_STATE_CHANGED',
  'I_VERIFY_DEACTIVATED_LATER',
  'I_VERIFY_PASSWORDS_CHANGED',
  'I_VERIFY_NEW_EMAILS',
  'I_VERIFY_NEW_LINKS',
  'I_VERIFY_NEW_SESSIONS',
  'I_VERIFY_FINISHED_SESSIONS',
  'I_VERIFY_NEW_TOKENS',
  'I_VERIFY_CONSUMED_REFRESH_TOKENS',
  'I_VERIFY_NEW_REGISTRATION_TOKENS',
  'I_VERIFY_REGISTRATION_TOKENS_CHANGED',
];

export function buildReport(c: Comparison, horizon: Horizon, usage: Record<string, number>): Omit<VerifyReport, 'timings'> {
  const findings: Finding[] = [];
  const horizonIso = Number.isFinite(horizon.ms) ? new Date(horizon.ms).toISOString() : null;
  for (const code of Object.keys(CODES) as Code[]) {
    const t = c.collector.tallies.get(code);
    if (t === undefined) continue;
    const { message, fix } = describe(code, t);
    const details: Record<string, unknown> = { count: t.count, entities: t.entities, ...t.kinds, examples: t.examples };
    findings.push(finding(code, CODES[code], message, fix === undefined ? { details } : { fix, details }));
  }
  const activity = NEW_ACTIVITY.filter((code) => c.collector.tallies.has(code));
  const sessionsInMas = Object.values(usage).reduce((a, b) => a + b, 0);
  if (activity.length > 0 || sessionsInMas > 0) {
    const at = findings.findIndex((f) => f.severity === 'info');
    findings.splice(
      at === -1 ? findings.length : at,
      0,
      finding(
        'I_VERIFY_MAS_IN_USE',
        'info',
        `MAS has been in use since the migration${horizonIso === null ? '' : ` (after ${horizonIso})`}: the differences that use explains are listed as info, not errors.`,
        { details: { ...usage, explainedBy: activity, horizon: horizonIso } },
      ),
    );
  }
  const errors = findings.filter((f) => f.severity === 'error');
  const counts = c.counts as Record<string, VerifyCount>;
  const u = c.counts.users;
  findings.push(
    finding(
      'I_VERIFY_SUMMARY',
      'info',
      `Compared ${plural(u.expected, 'Synapse user')} with ${plural(u.found, 'MAS user')}, and their passwords, emails, other third-party IDs, SSO links, ` +
        `sessions, tokens and registration tokens: ${errors.length === 0 ? 'MAS holds what the migration writes' : `${plural(errors.length, 'kind')} of error found`}.`,
      {
        details: {
          counts,
          horizon: horizonIso,
          horizonSources: {
            synapseLastTokenUse: horizon.synapseLastValidated === null ? null : new Date(horizon.synapseLastValidated).toISOString(),
            masSchemaInstalled: horizon.masSchemaInstalled === null ? null : new Date(horizon.masSchemaInstalled).toISOString(),
          },
        },
      },
    ),
  );
  return { findings, counts, exitCode: errors.length > 0 ? 10 : 0 };
}
