// `mas-tool syn2mas ...`: flags, rendering and exit codes. The work is in src/syn2mas/.
import type { Command } from 'commander';
import { isValid as isUlid } from 'ulid';
import { MasToolError, UsageError } from '../errors.js';
import { renderFindings, renderPlan } from '../report/check.js';
import type { Finding } from '../report/finding.js';
import { scrubStrongSecrets } from '../secret.js';
import type { CheckReport } from '../syn2mas/check.js';
import type { Syn2masContext } from '../syn2mas/context.js';
import type { ProgressState } from '../syn2mas/migrate.js';
import type { CliContext } from './context.js';
import { addMasConfigOption, addSynapseConfigOption, addSynapseDatabaseUriOption, collect } from './options.js';
import { checkOutputFile, writeOutputFile, type OutputFileOptions } from './output-file.js';
import { commandAction, type CommandResult } from './runner.js';

interface CheckFlags {
  config?: string[];
  synapseConfig: string[];
  synapseDatabaseUri?: string;
  ignoreMissingAuthProviders?: boolean;
  upstreamProviderMapping?: string[];
  accept?: string[];
}


/** SYNAPSE_IDP_ID:MAS_PROVIDER_ULID, repeatable. */
export function parseProviderMapping(values: readonly string[]): Map<string, string> {
  const mapping = new Map<string, string>();
  for (const value of values) {
    const at = value.lastIndexOf(':');
    const idp = value.slice(0, at);
    const ulid = value.slice(at + 1).toUpperCase();
    if (at <= 0 || !isUlid(ulid)) {
      throw new UsageError(`--upstream-provider-mapping "${value}" is not SYNAPSE_IDP_ID:MAS_PROVIDER_ULID.`, {
        hint: 'For example --upstream-provider-mapping oidc-github:01H8PKNWKKRPCBW4YGH1RWV279 (the id of the provider in the MAS config).',
      });
    }
    mapping.set(idp, ulid);
  }
  return mapping;
}

/** --accept W_A,W_B (repeatable): warnings only, and only codes that exist. */
export function parseAccept(values: readonly string[], known: readonly string[]): Set<string> {
  const codes = values.flatMap((v) => v.split(',')).map((c) => c.trim()).filter((c) => c !== '');
  for (const code of codes) {
    if (code.startsWith('E_')) {
      throw new UsageError(`--accept ${code}: errors cannot be accepted, only warnings (W_...).`, {
        hint: 'Fix what the error says; the check explains how.',
      });
    }
    if (!known.includes(code)) {
      throw new UsageError(`--accept ${code}: there is no such warning code.`, {
        hint: `Warning codes: ${known.filter((c) => c.startsWith('W_')).join(', ')}.`,
      });
    }
  }
  return new Set(codes);
}

type Output = ReturnType<CliContext['output']>;

function checkOptions(flags: CheckFlags, knownCodes: readonly string[]) {
  return {
    ignoreMissingAuthProviders: flags.ignoreMissingAuthProviders === true,
    explicitMapping: parseProviderMapping(flags.upstreamProviderMapping ?? []),
    accept: parseAccept(flags.accept ?? [], knownCodes),
  };
}

/** Loads both configs and prints the resolved database targets (never a password) before connecting. */
async function openContext(flags: CheckFlags, ctx: CliContext, out: Output) {
  const { loadSyn2masContext } = await import('../syn2mas/context.js');
  const { describeTarget, describeTargetJson } = await import('../db/connection.js');
  const context = loadSyn2masContext({
    masConfigPaths: flags.config ?? [],
    synapseConfigPaths: flags.synapseConfig,
    env: ctx.streams.env,
    ...(flags.synapseDatabaseUri !== undefined ? { synapseDatabaseUri: flags.synapseDatabaseUri } : {}),
  });
  for (const t of [context.synapseDb, context.masDb]) {
    out.note(`${out.errPaint.dim('→')} ${describeTarget(t)} ${out.errPaint.dim(`(from ${t.source})`)}`);
    for (const note of t.notes) out.note(`  ${out.errPaint.yellow('note:')} ${note}`);
  }
  return { context, targets: { synapse: describeTargetJson(context.synapseDb), mas: describeTargetJson(context.masDb) } };
}

function addCheckOptions(cmd: Command): Command {
  addMasConfigOption(cmd);
  addSynapseConfigOption(cmd, true);
  addSynapseDatabaseUriOption(cmd);
  return cmd
    .option('--ignore-missing-auth-providers', 'skip SSO links of providers unknown to homeserver.yaml instead of failing')
    .option('--upstream-provider-mapping <idp:ulid>', 'map a Synapse IdP id to a MAS provider id (repeatable)', collect)
    .option('--accept <codes>', 'acknowledge these warning codes, comma-separated (repeatable)', collect);
}

export function registerSyn2masCommands(program: Command, ctx: CliContext): Command {
  const group = program
    .command('syn2mas')
    .description('Migrate users, passwords, emails, SSO links, devices and tokens from Synapse into MAS');

  const check = addCheckOptions(group.command('check').description('find every migration blocker before downtime (read-only, safe while Synapse runs)'));
  check.action(commandAction(ctx, async (out, flags: CheckFlags) => {
    const { runCheck, ALL_CHECK_CODES } = await import('../syn2mas/check.js');
    const options = checkOptions(flags, ALL_CHECK_CODES);
    const { context, targets } = await openContext(flags, ctx, out);
    const report = await runCheck(context, options);
    return {
      exitCode: report.exitCode,
      json: () => ({
        ok: report.exitCode === 0,
        exitCode: report.exitCode,
        targets,
        counts: { errors: report.errors, warnings: report.warnings, accepted: report.accepted.length },
        accepted: report.accepted,
        findings: report.findings,
        timings: report.timings,
      }),
      human: () => checkLines(out, report.findings, new Set(report.accepted), report.exitCode),
    };
  }));
  const migrate = addCheckOptions(group.command('migrate').description('migrate Synapse into an empty MAS database, all-or-nothing'))
    .option('--dry-run', 'do the whole migration, constraint checks included, then roll back; Synapse may keep running')
    .option('--stage', 'copy everything while Synapse keeps running (again: bring the stage up to date); a later plain migrate cuts over')
    .option('--report <file>', 'also write the report as JSON to this file (mode 0600)')
    .option('--force', 'replace the --report file if it already exists');
  migrate.action(commandAction(ctx, async (out, flags: CheckFlags & { dryRun?: boolean; stage?: boolean; report?: string; force?: boolean }) => {
    // Before any work: a report that cannot be written must not be found out after the commit.
    const reportFile = flags.report === undefined ? undefined : { path: flags.report, flag: '--report', force: flags.force === true };
    if (reportFile !== undefined) checkOutputFile(reportFile.path, reportFile);
    const { runCheck, ALL_CHECK_CODES } = await import('../syn2mas/check.js');
    const { runMigration } = await import('../syn2mas/migrate.js');
    const { startProgress } = await import('../report/progress.js');
    const { renderMigration } = await import('../report/migration.js');
    const dryRun = flags.dryRun === true;
    // On a staged database a plain migrate is the cut-over: its check leaves out the data scans.
    const options = { ...checkOptions(flags, ALL_CHECK_CODES), cutover: flags.stage !== true };
    const { context, targets } = await openContext(flags, ctx, out);
    const check = await runCheck(context, options);
    const accepted = new Set(check.accepted);
    const errors = check.findings.filter((f) => f.severity === 'error');
    const warnings = check.findings.filter((f) => f.severity === 'warning');
    if (errors.length > 0) {
      return {
        exitCode: 10,
        json: () => ({ ok: false, exitCode: 10, dryRun, targets, findings: check.findings, migration: null }),
        human: () => checkLines(out, check.findings, accepted, 10),
      };
    }
    if (!out.json) out.print(renderFindings('Warnings', warnings, out.paint, accepted).join('\n'));
    const stage = flags.stage === true;
    if (check.stage !== undefined) return runStagedDelta(ctx, out, { context, targets, check, dryRun, cutover: !stage, reportFile });
    out.note(
      (dryRun ? 'Dry run: ' : '') +
        (stage ? 'Staging: copying everything while Synapse keeps running. MAS must not serve this database until the cut-over.' : 'Migrating.') +
        (dryRun ? ' Rolling back at the end.' : ''),
    );
    const progress: ProgressState = { stage: 'setup', phase: 'setup', done: 0, total: undefined };
    const plan = check.facts.plan;
    const totals = Object.fromEntries(Object.entries(plan).map(([k, e]) => [k, e.migrate + Object.values(e.skipped).reduce((a, b) => a + b, 0)]));
    totals.passwords = check.facts.localPasswordUsers;
    const stop = startProgress(progress, ctx.streams.stderr);
    let report;
    try {
      report = await runMigration(context, check.masSchema, {
        dryRun,
        providerMapping: check.providerMapping,
        skippedProviders: new Set(check.skippedProviders.keys()),
        totals,
        progress,
        stage,
      });
    } finally {
      stop();
    }
    const document = { ok: true, exitCode: 0, dryRun, targets, findings: check.findings, migration: report };
    writeReport(out, reportFile, document);
    return { exitCode: 0, json: () => document, human: () => renderMigration(report, out.paint) };
  }));
  const verify = group
    .command('verify')
    .description('compare the MAS database with Synapse after a migration, set-wise; read-only');
  addMasConfigOption(verify);
  addSynapseConfigOption(verify, true);
  addSynapseDatabaseUriOption(verify);
  verify.option('--upstream-provider-mapping <idp:ulid>', 'the mapping the migration used, if given explicitly (repeatable)', collect);
  verify.action(commandAction(ctx, async (out, flags: CheckFlags) => {
    const { runVerify } = await import('../syn2mas/verify.js');
    const { configProviderMapping } = await import('../syn2mas/checks/providers.js');
    const { context, targets } = await openContext(flags, ctx, out);
    const report = await runVerify(context, {
      providerMapping: configProviderMapping(context.mas.upstreamProviders, parseProviderMapping(flags.upstreamProviderMapping ?? [])),
    });
    const p = out.paint;
    return {
      exitCode: report.exitCode,
      json: () => ({
        ok: report.exitCode === 0,
        exitCode: report.exitCode,
        targets,
        counts: report.counts,
        findings: report.findings,
        timings: report.timings,
      }),
      human: () => [
        ...renderFindings('Differences', report.findings.filter((f) => f.severity === 'error'), p),
        ...renderFindings('Notes', report.findings.filter((f) => f.severity !== 'error'), p),
        '',
        report.exitCode === 0
          ? p.green('MAS is consistent with Synapse.')
          : p.red('MAS differs from what the migration should have written: see the differences above.'),
      ],
    };
  }));
  return group;
}

/** A refresh of the stage (`--stage` again) or the cut-over (plain migrate on a staged database). */
async function runStagedDelta(
  ctx: CliContext,
  out: Output,
  o: { context: Syn2masContext; targets: unknown; check: CheckReport; dryRun: boolean; cutover: boolean; reportFile: ReportFile | undefined },
): Promise<CommandResult> {
  const { runDelta } = await import('../syn2mas/stage/delta.js');
  const { startProgress } = await import('../report/progress.js');
  const { renderDelta } = await import('../report/migration.js');
  out.note(
    (o.dryRun ? 'Dry run: ' : '') +
      (o.cutover ? 'Cutting over: applying what changed since the stage.' : 'Refreshing the stage while Synapse keeps running.') +
      (o.dryRun ? ' Rolling back at the end.' : ''),
  );
  const progress: ProgressState = { stage: 'setup', phase: 'setup', done: 0, total: undefined };
  const stop = startProgress(progress, ctx.streams.stderr);
  let report;
  try {
    report = await runDelta(o.context, o.check.masSchema, {
      dryRun: o.dryRun,
      cutover: o.cutover,
      providerMapping: o.check.providerMapping,
      skippedProviders: new Set(o.check.skippedProviders.keys()),
      progress,
    });
  } finally {
    stop();
  }
  const document = { ok: true, exitCode: 0, dryRun: o.dryRun, targets: o.targets, findings: o.check.findings, migration: null, delta: report };
  writeReport(out, o.reportFile, document);
  return { exitCode: 0, json: () => document, human: () => renderDelta(report, out.paint) };
}

type ReportFile = OutputFileOptions & { path: string };

/**
 * --report FILE: the JSON document, mode 0600. Called once the run has succeeded (committed, for a
 * real run): a report that cannot be written now is a warning, the document goes to stderr instead,
 * and the exit code stays the run's.
 */
function writeReport(out: Output, file: ReportFile | undefined, document: unknown): void {
  if (file === undefined) return;
  // Scrubbed like everything mas-tool prints, as a second line of defence.
  const text = `${scrubStrongSecrets(JSON.stringify(document, null, 2))}\n`;
  try {
    writeOutputFile(file.path, text, file);
    out.note(`Report written to ${file.path}.`);
  } catch (error) {
    if (!(error instanceof MasToolError)) throw error;
    out.note(`${out.errPaint.yellow('warning:')} ${error.message} The run itself succeeded; the report follows here instead.`);
    out.note(text.trimEnd());
  }
}

function checkLines(out: Output, findings: readonly Finding[], accepted: ReadonlySet<string>, exitCode: number): string[] {
  const p = out.paint;
  const by = (s: Finding['severity']) => findings.filter((f) => f.severity === s);
  const lines: string[] = [];
  lines.push(...renderFindings('Errors', by('error'), p));
  lines.push(...renderFindings('Warnings', by('warning'), p, accepted));
  const summary = findings.find((f) => f.code === 'I_SUMMARY');
  const plan = summary?.details?.plan as Parameters<typeof renderPlan>[0] | undefined;
  if (plan !== undefined) lines.push(...renderPlan(plan, p));
  const errors = by('error').length;
  const warnings = by('warning').filter((f) => !accepted.has(f.code)).length;
  const verdict =
    exitCode === 0
      ? p.green(`No blockers${accepted.size > 0 ? ` (accepted: ${[...accepted].join(', ')})` : ''}: ready to migrate.`)
      : exitCode === 10
        ? p.red(`${errors} error${errors === 1 ? '' : 's'} must be fixed before migrating${warnings > 0 ? `, and ${warnings} warning${warnings === 1 ? '' : 's'} to review` : ''}.`)
        : p.yellow(`${warnings} warning${warnings === 1 ? '' : 's'} to review; accept them with --accept ${[...new Set(by('warning').filter((f) => !accepted.has(f.code)).map((f) => f.code))].join(',')} to proceed in automation.`);
  lines.push('', verdict);
  return lines;
}
