// Renders a migration report for people: per entity what was migrated and skipped (and why),
// who keeps their sessions and who has to log in again, and how long each phase took.
import type { MigrationReport } from '../syn2mas/migrate.js';
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
};

export function renderMigration(r: MigrationReport, p: Palette): string[] {
  const lines: string[] = [p.bold(r.dryRun ? 'Dry run (nothing was kept)' : 'Migrated')];
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
  if (r.dryRun) lines.push('', p.green(`Dry run complete: the migration would take about ${secs(r.durationMs)} of downtime. The MAS database is unchanged.`));
  else lines.push('', p.green(`Migration complete in ${secs(r.durationMs)}. Next: configure Synapse for MAS, start MAS, then run \`mas-tool syn2mas verify\`.`));
  return lines;
}
