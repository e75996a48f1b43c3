// `npm run bench -- --growth --users N`: the guard against steps that grow faster than the server.
// Generates the same population at N and at 4N users, runs `syn2mas check`, `syn2mas migrate` and
// `syn2mas verify` on each (each command in a process of its own, as an operator runs it), and
// prints every step's time at both sizes and their ratio. Linear work gives about 4 (less where a
// fixed cost dominates); a step above MAX_RATIO is flagged and the benchmark exits non-zero, so a
// quadratic step cannot land unseen. `.ci/run` runs it at sizes small enough for CI.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliRun } from './cli-run.js';
import { createDatabase, dropDatabase, type BenchServer, withClient, writeConfigs } from './environment.js';
import { GENERATED_TABLES, generateSynapseData } from './generate.js';

/** Above this N-to-4N time ratio a step is flagged (linear is 4; n log n stays well under 5). */
export const MAX_RATIO = 6;
/**
 * Steps shorter than this at 4N are shown but not judged: below it, start-up costs, the operating
 * system and the other core's work decide the ratio, not the step's complexity. A quadratic step
 * that takes seconds at 200k users still takes well over this at 20k.
 */
export const MIN_JUDGED_MS = 250;
/**
 * And the 4N time must exceed MAX_RATIO times the N time by this much: single runs on a shared
 * 2-core machine move a sub-second step by half its time, which a ratio alone reads as growth. A
 * quadratic step is far past it (16 times, not 6).
 */
export const MIN_EXCESS_MS = 250;

interface Step {
  command: string;
  name: string;
  ms: number;
}

const fmtS = (ms: number): string => (ms / 1000).toFixed(2);

function stepsOf(command: string, result: CliRun): Step[] {
  const json = result.json as {
    timings?: Array<{ name: string; ms: number }>;
    migration?: { phases: Array<{ name: string; ms: number }>; durationMs: number };
  };
  const list = command === 'migrate' ? json.migration?.phases : json.timings;
  if (list === undefined) throw new Error(`syn2mas ${command} printed no timings (exit ${result.code}):\n${result.stderr.slice(-2000)}`);
  const steps = list.map((s) => ({ command, name: s.name, ms: s.ms }));
  const total = command === 'migrate' ? (json.migration?.durationMs ?? 0) : list.reduce((sum, s) => sum + s.ms, 0);
  return [...steps, { command, name: 'whole run', ms: total }];
}

async function measureAt(server: BenchServer, users: number, serverName: string): Promise<{ steps: Step[]; rows: number }> {
  const names = { synapse: `bench_growth_synapse_${users}`, mas: `bench_growth_mas_${users}` };
  const dir = mkdtempSync(join(tmpdir(), 'mas-tool-growth-'));
  try {
    for (const n of Object.values(names)) await dropDatabase(server.adminUrl, n);
    const synapseUrl = await createDatabase(server.adminUrl, names.synapse, 'synapse-schema.sql');
    const masUrl = await createDatabase(server.adminUrl, names.mas, 'mas-schema.sql');
    const counts = await withClient(synapseUrl, (c) => generateSynapseData(c, { users, serverName, seed: 1 }));
    // A homeserver's tables have long been vacuumed; freshly generated ones have not. Without this,
    // the first command to read them pays for setting every row's hint bits, racing autovacuum, and
    // at 4N that cost (not the command's work) decides the ratio.
    await withClient(synapseUrl, (c) => c.query(`VACUUM (ANALYZE) ${GENERATED_TABLES.join(', ')}`));
    const configs = await writeConfigs(dir, { synapseUrl, masUrl, serverName });
    const steps: Step[] = [];
    for (const command of ['check', 'migrate', 'verify'] as const) {
      const result = await runCli(['syn2mas', command, '--json', ...configs.args]);
      // The generated population has warnings (guests, bridges) that a check reports with exit 11.
      const ok = command === 'check' ? result.code === 0 || result.code === 11 : result.code === 0;
      if (!ok) throw new Error(`syn2mas ${command} at ${users} users failed (exit ${result.code}):\n${result.stderr.slice(-3000)}`);
      steps.push(...stepsOf(command, result));
    }
    return { steps, rows: Object.values(counts).reduce((a, b) => a + b, 0) };
  } finally {
    for (const n of Object.values(names)) await dropDatabase(server.adminUrl, n).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface GrowthRow {
  command: string;
  name: string;
  small: number;
  large: number;
  ratio: number;
  flagged: boolean;
}

/** Pairs the steps of both sizes by command and name; a step seen at one size only is kept with 0. */
export function compareGrowth(small: readonly Step[], large: readonly Step[]): GrowthRow[] {
  const key = (s: Step): string => `${s.command}\u0000${s.name}`;
  const smallBy = new Map(small.map((s) => [key(s), s.ms]));
  const seen = new Set<string>();
  const rows: GrowthRow[] = [];
  for (const s of large) {
    const k = key(s);
    if (seen.has(k)) continue;
    seen.add(k);
    const before = smallBy.get(k) ?? 0;
    const ratio = before > 0 ? s.ms / before : Number.POSITIVE_INFINITY;
    rows.push({ command: s.command, name: s.name, small: before, large: s.ms, ratio, flagged: s.ms >= MIN_JUDGED_MS && ratio > MAX_RATIO && s.ms - MAX_RATIO * before >= MIN_EXCESS_MS });
  }
  return rows;
}

/** Runs the workload at `users` and 4 x `users`; prints the table; returns true when no step is flagged. */
export async function runGrowth(server: BenchServer, users: number, write: (s: string) => void): Promise<boolean> {
  const serverName = 'bench.example.org';
  const small = await measureAt(server, users, serverName);
  write(`measured ${users.toLocaleString('en-US')} users (${small.rows.toLocaleString('en-US')} Synapse rows)\n`);
  const large = await measureAt(server, users * 4, serverName);
  write(`measured ${(users * 4).toLocaleString('en-US')} users (${large.rows.toLocaleString('en-US')} Synapse rows)\n\n`);
  const rows = compareGrowth(small.steps, large.steps);
  const n = users.toLocaleString('en-US');
  const n4 = (users * 4).toLocaleString('en-US');
  write(`${'command'.padEnd(9)}${'step'.padEnd(34)}${`${n} s`.padStart(12)}${`${n4} s`.padStart(12)}${'ratio'.padStart(8)}\n`);
  for (const r of rows) {
    const judged = r.large >= MIN_JUDGED_MS;
    const ratio = Number.isFinite(r.ratio) ? r.ratio.toFixed(2) : '-';
    const mark = r.flagged ? `  <-- above ${MAX_RATIO}: grows faster than the data` : judged ? '' : '  (too short to judge)';
    write(`${r.command.padEnd(9)}${r.name.slice(0, 33).padEnd(34)}${fmtS(r.small).padStart(12)}${fmtS(r.large).padStart(12)}${ratio.padStart(8)}${mark}\n`);
  }
  const flagged = rows.filter((r) => r.flagged);
  const worst = rows.filter((r) => r.large >= MIN_JUDGED_MS && Number.isFinite(r.ratio)).sort((a, b) => b.ratio - a.ratio)[0];
  write(
    `\nrows ratio ${(large.rows / small.rows).toFixed(2)}; highest judged step ratio ${worst === undefined ? '-' : `${worst.ratio.toFixed(2)} (${worst.command}: ${worst.name})`}\n`,
  );
  const compact = rows.map((r) => ({ ...r, small: Math.round(r.small), large: Math.round(r.large), ratio: Number.isFinite(r.ratio) ? Number(r.ratio.toFixed(2)) : null }));
  write(`BENCH_GROWTH ${JSON.stringify({ users, rows: compact })}\n`);
  if (flagged.length > 0) write(`\n${flagged.length} step(s) grew more than ${MAX_RATIO}x for 4x the data: ${flagged.map((r) => `${r.command}: ${r.name}`).join(', ')}\n`);
  return flagged.length === 0;
}
