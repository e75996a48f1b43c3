// `npm run bench -- --users N`: generates a Synapse database of N users with a realistic mix, runs a
// real dry run and a real migration (each in a process of its own, whose peak RSS is measured), and
// measures the floor: the same rows moved with plain COPY and no transform (floor.ts). Prints per
// entity rows, seconds and rows per second, the tool's peak RSS, and migrate/floor as a ratio.
// With --growth it runs check, migrate and verify at N and 4N users instead (growth.ts); with --staged,
// a staged migration with churn against a full one (staged.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseUsersArg } from './args.js';
import { runCli } from './cli-run.js';
import { createDatabase, dropDatabase, GITHUB_PROVIDER_ULID, KEYCLOAK_PROVIDER_ULID, repoRoot, startBenchServer, withClient, writeConfigs } from './environment.js';
import { measureFloor } from './floor.js';
import { generateSynapseData } from './generate.js';
import { runGrowth } from './growth.js';
import { runStagedBench } from './staged.js';

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const s = (ms: number): string => (ms / 1000).toFixed(2);

interface MigrationJson {
  durationMs: number;
  phases: Array<{ name: string; ms: number }>;
  entities: Record<string, { migrated: number }>;
}

async function main(): Promise<void> {
  const { users, switches } = parseUsersArg(process.argv.slice(2), 'bench', ['--growth', '--staged']);
  if (switches.has('--staged')) {
    const server = await startBenchServer();
    try {
      process.stdout.write(`mas-tool staged-migration benchmark: ${fmt(users)} users; node ${process.version}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB\n`);
      if (!(await runStagedBench(server, users, (t) => process.stdout.write(t)))) process.exitCode = 1;
    } finally {
      await server.stop();
    }
    return;
  }
  if (switches.has('--growth')) {
    const server = await startBenchServer();
    try {
      process.stdout.write(`mas-tool growth benchmark: ${fmt(users)} and ${fmt(users * 4)} users; node ${process.version}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB\n`);
      if (!(await runGrowth(server, users, (t) => process.stdout.write(t)))) process.exitCode = 1;
    } finally {
      await server.stop();
    }
    return;
  }
  const server = await startBenchServer();
  const dir = mkdtempSync(join(tmpdir(), 'mas-tool-bench-'));
  const names = { synapse: 'bench_synapse', mas: 'bench_mas', floor: 'bench_floor' };
  const serverName = 'bench.example.org';
  try {
    for (const n of Object.values(names)) await dropDatabase(server.adminUrl, n);
    const synapseUrl = await createDatabase(server.adminUrl, names.synapse, 'synapse-schema.sql');
    const masUrl = await createDatabase(server.adminUrl, names.mas, 'mas-schema.sql');
    const floorUrl = await createDatabase(server.adminUrl, names.floor, 'mas-schema.sql');
    const pg = await withClient(server.adminUrl, async (c) => (await c.query<{ v: string }>('SELECT version() AS v')).rows[0]?.v ?? '');
    process.stdout.write(`mas-tool benchmark: ${fmt(users)} users; node ${process.version}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; ${pg.split(' on ')[0]}\n`);

    const g0 = performance.now();
    const counts = await withClient(synapseUrl, (c) => generateSynapseData(c, { users, serverName, seed: 1 }));
    process.stdout.write(`generated in ${s(performance.now() - g0)} s: ${Object.entries(counts).map(([t, n]) => `${t} ${fmt(n)}`).join(', ')}\n`);
    const configs = await writeConfigs(dir, { synapseUrl, masUrl, serverName });
    await writeConfigs(mkdtempSync(join(dir, 'floor-')), { synapseUrl, masUrl: floorUrl, serverName });

    const dry = await runCli(['syn2mas', 'migrate', '--dry-run', '--json', ...configs.args]);
    if (dry.code !== 0) throw new Error(`the dry run failed (exit ${dry.code}):\n${dry.stderr.slice(-3000)}`);
    const real = await runCli(['syn2mas', 'migrate', '--json', ...configs.args]);
    if (real.code !== 0) throw new Error(`the migration failed (exit ${real.code}):\n${real.stderr.slice(-3000)}`);
    const providers = new Map([
      ['oidc-github', GITHUB_PROVIDER_ULID],
      ['oidc-keycloak', KEYCLOAK_PROVIDER_ULID],
    ]);
    const floor = await measureFloor(synapseUrl, floorUrl, serverName, providers);

    const migration = real.json.migration as MigrationJson;
    const dryMigration = dry.json.migration as MigrationJson;
    const phaseMs = new Map(migration.phases.map((p) => [p.name, p.ms]));
    process.stdout.write(`\n${'step'.padEnd(28)}${'rows'.padStart(12)}${'migrate s'.padStart(11)}${'rows/s'.padStart(12)}${'floor s'.padStart(10)}${'rows/s'.padStart(12)}\n`);
    for (const step of floor.steps) {
      const ms = phaseMs.get(step.name) ?? 0;
      process.stdout.write(
        `${step.name.padEnd(28)}${fmt(step.rows).padStart(12)}${s(ms).padStart(11)}${fmt(ms > 0 ? (step.rows * 1000) / ms : 0).padStart(12)}` +
          `${s(step.ms).padStart(10)}${fmt(step.ms > 0 ? (step.rows * 1000) / step.ms : 0).padStart(12)}\n`,
      );
    }
    const rebuild = phaseMs.get('rebuild constraints and indexes') ?? 0;
    process.stdout.write(`${'rebuild constraints/indexes'.padEnd(28)}${''.padStart(12)}${s(rebuild).padStart(11)}${''.padStart(12)}${s(floor.rebuildMs).padStart(10)}\n`);
    process.stdout.write(`${'total (migration)'.padEnd(28)}${''.padStart(12)}${s(migration.durationMs).padStart(11)}${''.padStart(12)}${s(floor.totalMs).padStart(10)}\n`);
    process.stdout.write(`\nmigrate/floor: ${(migration.durationMs / floor.totalMs).toFixed(2)}\n`);
    process.stdout.write(`migrate command, wall time with checks and start-up: ${s(real.wallMs)} s\n`);
    process.stdout.write(`dry run: ${s(dryMigration.durationMs)} s migration (${s(dry.wallMs)} s wall with checks)\n`);
    process.stdout.write(`peak RSS of mas-tool: migrate ${fmt(real.maxRssKb / 1024)} MiB, dry run ${fmt(dry.maxRssKb / 1024)} MiB\n`);
    process.stdout.write(
      `BENCH_RESULT ${JSON.stringify({ users, migrateMs: migration.durationMs, floorMs: floor.totalMs, ratio: migration.durationMs / floor.totalMs, dryRunMs: dryMigration.durationMs, maxRssKb: real.maxRssKb, dryRunMaxRssKb: dry.maxRssKb, counts })}\n`,
    );
  } finally {
    for (const n of Object.values(names)) await dropDatabase(server.adminUrl, n).catch(() => undefined);
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});

