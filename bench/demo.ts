// `npm run demo`: the whole syn2mas story on a fresh clone, with nothing installed but node_modules.
// Starts a throwaway PostgreSQL (or uses MAS_TOOL_BENCH_DATABASE_URL), creates a Synapse database
// with a few hundred varied users and an empty MAS database, writes homeserver.yaml and the MAS
// config, then runs the real CLI in-process, as an operator would type it: check, a dry run,
// the migration, and verify. Everything is stopped and removed at the end, also on failure or Ctrl-C.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';
import type { Streams } from '../src/report/output.js';
import { createDatabase, dropDatabase, startBenchServer, withClient, writeConfigs, type BenchServer } from './environment.js';
import { GENERATED_TABLES, generateSynapseData } from './generate.js';

const USERS = 300;
const SERVER_NAME = 'example.com';
const STEPS = 4;

/** Set on Ctrl-C: cleaning up then, and the steps still running are no longer shown. */
let interrupted = false;
const out = (text = ''): void => void (interrupted || process.stdout.write(`${text}\n`));
/** Stops the demo at the next step once interrupted. */
function stopIfInterrupted(): void {
  if (interrupted) throw new Error('interrupted');
}
const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
const bold = (text: string): string => (color ? `\u001b[1m${text}\u001b[22m` : text);

function header(n: number, title: string, commandLine: string): void {
  stopIfInterrupted();
  out();
  out(bold(`== ${n}/${STEPS} mas-tool ${title} ==`));
  out(`$ ${commandLine}`);
  out();
}

/** process.stdout/stderr, with what was written to stderr also kept. */
function teeStreams(): { streams: Streams; stderr: () => string } {
  let captured = '';
  return {
    streams: {
      stdout: { isTTY: process.stdout.isTTY, write: (text: string) => interrupted || process.stdout.write(text) },
      stderr: {
        isTTY: process.stderr.isTTY,
        write: (text: string) => {
          captured += text;
          return interrupted || process.stderr.write(text);
        },
      },
      env: process.env,
    },
    stderr: () => captured,
  };
}

/** Runs the CLI with its output captured, not shown (for the warning codes the dry run accepts). */
async function runQuiet(args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const code = await main(['node', 'mas-tool', ...args], {
    stdout: { write: (text: string) => (stdout += text), isTTY: false },
    stderr: { write: () => true, isTTY: false },
    env: process.env,
  });
  return { code, stdout };
}

/** How the operator would write it: paths shortened to the temporary directory's name. */
function commandLine(args: string[], dir: string): string {
  return ['mas-tool', ...args].map((a) => a.split(dir).join('$DEMO')).join(' ');
}

async function demo(dir: string, cleanups: Array<() => Promise<void>>): Promise<boolean> {
  out(bold('mas-tool demo: migrate a small Synapse homeserver into MAS'));
  out(`(temporary files in ${dir}, shown below as $DEMO)`);
  out();

  const started = performance.now();
  // Registered before it is awaited, so that a Ctrl-C during start-up still stops the server.
  const starting = startBenchServer();
  cleanups.push(() => starting.then((s) => s.stop(), () => undefined));
  const server: BenchServer = await starting;
  stopIfInterrupted();
  out(server.external ? `Using the PostgreSQL server of MAS_TOOL_BENCH_DATABASE_URL.` : `Started a throwaway PostgreSQL server (${((performance.now() - started) / 1000).toFixed(1)} s).`);

  const suffix = randomBytes(4).toString('hex');
  const names = { synapse: `mas_tool_demo_synapse_${suffix}`, mas: `mas_tool_demo_mas_${suffix}` };
  for (const name of Object.values(names)) cleanups.push(() => dropDatabase(server.adminUrl, name));
  const synapseUrl = await createDatabase(server.adminUrl, names.synapse, 'synapse-schema.sql');
  const masUrl = await createDatabase(server.adminUrl, names.mas, 'mas-schema.sql');
  stopIfInterrupted();
  const counts = await withClient(synapseUrl, (c) => generateSynapseData(c, { users: USERS, serverName: SERVER_NAME, seed: 1 }));
  out(`Synapse database ${names.synapse} (server_name ${SERVER_NAME}): ${GENERATED_TABLES.map((t) => `${t} ${counts[t]}`).join(', ')}.`);
  out(`  users: people with passwords, emails and phone numbers, SSO links (github, keycloak), admins, locked, deactivated,`);
  out(`  guests and bridge users; devices with cross-signing rows, refresh-token rotations, puppet and deviceless tokens.`);
  out(`Empty MAS database ${names.mas}, with its two upstream providers synced.`);

  const configs = await writeConfigs(dir, { synapseUrl, masUrl, serverName: SERVER_NAME });
  out(`Wrote $DEMO/homeserver.yaml and $DEMO/mas.yaml.`);
  const base = configs.args;

  let ok = true;

  // 1. check
  const checkArgs = ['syn2mas', 'check', ...base];
  header(1, 'syn2mas check', commandLine(checkArgs, dir));
  const check = await main(['node', 'mas-tool', ...checkArgs], teeStreams().streams);
  out();
  out(`exit code ${check}${check === 11 ? ' (warnings to review; they do not block the migration)' : check === 0 ? ' (no blockers)' : ''}`);
  if (check !== 0 && check !== 11) ok = false;

  // 2. dry run, acknowledging the warnings the check found
  const json = await runQuiet(['--json', 'syn2mas', 'check', ...base]);
  let warnings: string[] = [];
  try {
    const doc = JSON.parse(json.stdout) as { findings?: Array<{ code: string; severity: string }> };
    warnings = [...new Set((doc.findings ?? []).filter((f) => f.severity === 'warning').map((f) => f.code))];
  } catch {
    // No JSON (the check could not run): the dry run below says why.
  }
  const dryArgs = ['syn2mas', 'migrate', '--dry-run', ...base, ...(warnings.length > 0 ? ['--accept', warnings.join(',')] : [])];
  header(2, 'syn2mas migrate --dry-run', commandLine(dryArgs, dir));
  const dry = await main(['node', 'mas-tool', ...dryArgs], teeStreams().streams);
  out();
  out(`exit code ${dry}`);
  if (dry !== 0) ok = false;

  // 3. the migration
  const report = join(dir, 'report.json');
  const migrateArgs = ['syn2mas', 'migrate', ...base, '--report', report];
  header(3, 'syn2mas migrate', commandLine(migrateArgs, dir));
  const migrate = await main(['node', 'mas-tool', ...migrateArgs], teeStreams().streams);
  out();
  out(`exit code ${migrate}${existsSync(report) ? `; $DEMO/report.json has ${statSync(report).size.toLocaleString('en-US')} bytes` : ''}`);
  if (migrate !== 0) ok = false;

  // 4. verify
  const verifyArgs = ['syn2mas', 'verify', ...base];
  header(4, 'syn2mas verify', commandLine(verifyArgs, dir));
  const tee = teeStreams();
  const verify = await main(['node', 'mas-tool', ...verifyArgs], tee.streams);
  out();
  if (verify === 2 && /not built/i.test(tee.stderr())) {
    out('exit code 2: `syn2mas verify` is not built in this version yet; skipped.');
  } else {
    out(`exit code ${verify}`);
    if (verify !== 0) ok = false;
  }
  return ok;
}

async function run(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'mas-tool-demo-'));
  const cleanups: Array<() => Promise<void>> = [];
  // One cleanup, whoever asks first (the end of the run or a signal); both wait for it to finish.
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      // Databases first (on an external server they would stay), then the server, then the files.
      for (const fn of [...cleanups].reverse()) await fn().catch((error: unknown) => process.stderr.write(`cleanup: ${String(error)}\n`));
      rmSync(dir, { recursive: true, force: true });
    })());
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping the demo and cleaning up...\n`);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const ok = await demo(dir, cleanups);
    out();
    out(ok ? bold('Demo complete.') : bold('Demo finished, but a step did not exit as expected (see above).'));
    return ok ? 0 : 1;
  } catch (error) {
    if (!interrupted) process.stderr.write(`\ndemo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

process.exitCode = await run();
