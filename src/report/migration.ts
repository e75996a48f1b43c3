// Renders a migration report for people: per entity what was migrated and skipped (and why),
// who keeps their sessions and who has to log in again, and how long each phase took.
import type { MigrationReport } from '../syn2mas/migrate.js';
import type { DeltaReport } from '../syn2mas/stage/delta.js';
import type { Palette } from './output.js';

const n = (x: number): string => x.toLocaleString('en-US');
const secs = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

const LABELS: Record<string, string> = {
  users: 'users',
  passwords: 'passwords',
  emails: 'emails',
  unsupportedThreepids: 'other 3PIDs',
  upstreamLinks: 'SSO links',
  devices: 'device sessions',
  deviceless: 'deviceless sessions',
  accessTokens: 'access tokens',
  refreshTokens: 'refresh pairs',
  registrationTokens: 'registration tokens',
};

export function renderMigration(r: MigrationReport, p: Palette): string[] {
  const lines: string[] = [p.bold(r.dryRun ? 'Dry run (nothing was kept)' : r.staged !== undefined ? 'Staged' : 'Migrated')];
  lines.push(`  ${'entity'.padEnd(20)}${'migrated'.padStart(12)}  skipped`);
  for (const [key, e] of Object.entries(r.entities)) {
    const reasons = Object.entries(e.skipped).filter(([, v]) => v > 0);
    const total = reasons.reduce((a, [, v]) => a + v, 0);
    const why = reasons.length === 0 ? '' : ` (${reasons.map(([k, v]) => `${k.replace(/_/g, ' ')} ${n(v)}`).join(', ')})`;
    lines.push(`  ${(LABELS[key] ?? key).padEnd(20)}${n(e.migrated).padStart(12)}  ${n(total)}${why}`);
  }
  const s = r.sessions;
  lines.push(p.bold('Sessions'));
  lines.push(`  ${n(s.usersKeepingSessions)} users keep ${n(s.withTokens)} logged-in sessions (${n(s.adminSessions)} with Synapse admin rights); ${n(s.compatSessions)} sessions in all.`);
  const out = Object.entries(r.loggedOut).filter(([, v]) => v > 0);
  lines.push(
    `  ${n(s.usersWithoutSessions)} active users have no working session and log in on their next visit` +
      (out.length > 0 ? `; tokens not carried over: ${out.map(([k, v]) => `${k.replace(/_/g, ' ')} ${n(v)}`).join(', ')}.` : '.'),
  );
  if (r.invalidIps > 0) lines.push(`  ${n(r.invalidIps)} device IP${r.invalidIps === 1 ? ' was' : 's were'} not a single address and left empty.`);
  lines.push(p.bold('Timing'));
  for (const phase of r.phases) lines.push(`  ${phase.name.padEnd(34)}${secs(phase.ms).padStart(10)}${phase.status === 'done' ? '' : `  ${phase.status}`}`);
  lines.push(`  ${'total'.padEnd(34)}${secs(r.durationMs).padStart(10)}`);
  if (r.dryRun) lines.push('', p.green(`Dry run complete: the ${r.staged !== undefined ? 'stage' : 'migration'} would take about ${secs(r.durationMs)}${r.staged !== undefined ? '' : ' of downtime'}. The MAS database is unchanged.`));
  else if (r.staged !== undefined) {
    lines.push(
      '',
      p.green(`Staged ${n(r.staged.users)} Synapse users as of ${r.staged.stagedAt} in ${secs(r.durationMs)}; Synapse kept running.`),
      p.yellow('Do not start MAS on this database before the cut-over.') +
        ' Refresh the stage any time with `mas-tool syn2mas migrate --stage`; to cut over, stop Synapse and run `mas-tool syn2mas migrate`.',
    );
  } else lines.push('', p.green(`Migration complete in ${secs(r.durationMs)}. Next: configure Synapse for MAS, start MAS, then run \`mas-tool syn2mas verify\`.`));
  return lines;
}

const TABLE_LABELS: Record<string, string> = {
  users: 'users',
  user_passwords: 'passwords',
  user_emails: 'emails',
  user_unsupported_third_party_ids: 'other 3PIDs',
  upstream_oauth_links: 'SSO links',
  compat_sessions: 'sessions',
  compat_access_tokens: 'access tokens',
  compat_refresh_tokens: 'refresh tokens',
  user_registration_tokens: 'registration tokens',
};

/** A refresh of a stage, or the cut-over: what changed since the stage, and what it took. */
export function renderDelta(r: DeltaReport, p: Palette): string[] {
  const what = r.mode === 'cutover' ? 'Cut over' : 'Refreshed the stage';
  const lines: string[] = [p.bold(r.dryRun ? `Dry run (nothing was kept): ${what.toLowerCase()}` : what)];
  const u = r.users;
  lines.push(`  ${n(u.compared)} Synapse users compared with the stage of ${r.stage.previouslyStagedAt}: ${n(u.changed)} changed, ${n(u.added)} new, ${n(u.removed)} gone.`);
  lines.push(`  ${'table'.padEnd(20)}${'inserted'.padStart(10)}${'updated'.padStart(10)}${'deleted'.padStart(10)}`);
  for (const [table, d] of Object.entries(r.tables)) {
    lines.push(`  ${(TABLE_LABELS[table] ?? table).padEnd(20)}${n(d.inserted).padStart(10)}${n(d.updated).padStart(10)}${n(d.deleted).padStart(10)}`);
  }
  lines.push(p.bold('Timing'));
  for (const phase of r.phases) lines.push(`  ${phase.name.padEnd(34)}${secs(phase.ms).padStart(10)}`);
  lines.push(`  ${'total'.padEnd(34)}${secs(r.durationMs).padStart(10)}`);
  if (r.dryRun) lines.push('', p.green(`Dry run complete in ${secs(r.durationMs)}. The MAS database is unchanged.`));
  else if (r.mode === 'cutover') {
    lines.push('', p.green(`Cut-over complete in ${secs(r.durationMs)} of downtime. Next: configure Synapse for MAS, start MAS, then run \`mas-tool syn2mas verify\`.`));
  } else lines.push('', p.green(`Stage brought up to date as of ${r.stage.stagedAt} in ${secs(r.durationMs)}.`) + ' To cut over, stop Synapse and run `mas-tool syn2mas migrate`.');
  return lines;
}
