// `syn2mas check`: every known migration blocker, found before downtime. Reads both databases in
// read-only transactions (Synapse may keep serving traffic) and returns findings as data; the CLI
// renders them. Unlike mas-cli, it never runs MAS schema migrations or writes anything.
import { readSecretSource } from '../config/secret-source.js';
import { connect } from '../db/connection.js';
import { inspectMasSchema, type MasSchema } from '../db/mas-schema.js';
import type { Queryable } from '../db/queryable.js';
import { beginReadSnapshot } from '../db/snapshot.js';
import type { StepTiming } from '../db/timed.js';
import { DatabaseError } from '../errors.js';
import { finding, type Finding } from '../report/finding.js';
import type { Secret } from '../secret.js';
import { uuidToULID } from 'ulid';
import { checkConfig, CONFIG_CHECK_CODES } from './checks/config.js';
import { CONNECTION_CHECK_CODES, connectionCheckFindings, readSessionGuard } from './checks/connection-check.js';
import { checkMasDatabase, MAS_DATABASE_CHECK_CODES } from './checks/mas-database.js';
import { checkProviders, PROVIDER_CHECK_CODES } from './checks/providers.js';
import { checkSecrets, SECRET_CHECK_CODES } from './checks/secrets.js';
import { readRegistrationTokenFacts, REGISTRATION_TOKEN_CHECK_CODES, registrationTokenFindings, type RegistrationTokenPlan } from './checks/registration-tokens.js';
import { checkSynapseData, SYNAPSE_DATA_CHECK_CODES, type SynapseFacts } from './checks/synapse-data.js';
import type { Syn2masContext } from './context.js';
import { unlessMigrationRuns } from './migration-lock.js';
import { readSynapseIdentity } from './stage/record.js';
import { readStageState, STAGE_CHECK_CODES, stageFindings, type StageState } from './stage/validate.js';

export const ALL_CHECK_CODES: readonly string[] = [
  ...CONFIG_CHECK_CODES,
  ...SECRET_CHECK_CODES,
  ...PROVIDER_CHECK_CODES,
  ...MAS_DATABASE_CHECK_CODES,
  ...CONNECTION_CHECK_CODES,
  ...SYNAPSE_DATA_CHECK_CODES,
  ...REGISTRATION_TOKEN_CHECK_CODES,
  ...STAGE_CHECK_CODES,
  'I_SUMMARY',
];

export interface CheckOptions {
  ignoreMissingAuthProviders: boolean;
  /** Synapse IdP id to MAS provider ULID. */
  explicitMapping: ReadonlyMap<string, string>;
  /** Warning codes the operator acknowledged with --accept. */
  accept: ReadonlySet<string>;
  /**
   * For `migrate` without --stage: on a staged database this is the cut-over, whose downtime should
   * not include scanning all of Synapse again; the data checks are then left out (see
   * checkSynapseData's scope), the configuration, MAS, provider and stage checks stay.
   */
  cutover?: boolean;
}

export interface CheckReport {
  findings: Finding[];
  /** Warning codes that were present and accepted. */
  accepted: string[];
  errors: number;
  /** Warnings not accepted. */
  warnings: number;
  /** 0 clean, 10 errors, 11 unaccepted warnings only. */
  exitCode: 0 | 10 | 11;
  facts: SynapseFacts;
  masSchema: MasSchema;
  /** Synapse IdP id to MAS provider ULID for the links that will be migrated. */
  providerMapping: Map<string, string>;
  /** Synapse IdP ids whose links are skipped (--ignore-missing-auth-providers), with their row counts. */
  skippedProviders: Map<string, number>;
  /** The stage this MAS database holds (a staged migration in progress), if any. */
  stage?: StageState;
  /** Wall time per step of each side's reads, for the growth benchmark (`synapse: users`, `mas: database`). */
  timings: StepTiming[];
}

async function readOnly<T>(db: Queryable & { end(): Promise<void> }, what: string, fn: (db: Queryable) => Promise<T>): Promise<T> {
  try {
    // Consistent counts, and only ACCESS SHARE locks, so a running Synapse is not disturbed.
    await beginReadSnapshot(db);
    const result = await fn(db);
    await db.query('COMMIT');
    return result;
  } catch (error) {
    if (error instanceof DatabaseError) throw error;
    if (error instanceof Error && 'severity' in error) throw new DatabaseError(what, error);
    throw error;
  } finally {
    await db.end().catch(() => undefined);
  }
}

export async function runCheck(ctx: Syn2masContext, options: CheckOptions): Promise<CheckReport> {
  const v1 = ctx.mas.passwords.schemes.find((s) => s.version === 1);
  // Read as MAS reads a scheme's secret_file: raw bytes.
  const masV1Pepper: Secret | undefined = v1?.secret === undefined ? undefined : readSecretSource(v1.secret, 'raw');

  // MAS first (a few catalogue queries): whether it holds a stage decides what the Synapse side reads.
  const masSide = await connect(ctx.masDb).then((db) =>
    readOnly(db, 'reading the MAS database', (q) => unlessMigrationRuns(q, async () => {
      const started = performance.now();
      const schema = await inspectMasSchema(q);
      // Counting every staged row takes a while at a million users; the cut-over counts them itself.
      const stage = schema.latestMigration !== null ? await readStageState(q, { countRows: options.cutover !== true }) : undefined;
      const findings = await checkMasDatabase(q, schema, { staged: stage !== undefined });
      const providers = schema.leftovers.length === 0 && schema.latestMigration !== null ? await masDatabaseProviders(q) : undefined;
      return { schema, findings, providers, stage, guard: await readSessionGuard(q, 'MAS'), ms: performance.now() - started };
    })),
  );
  const scope = options.cutover === true && masSide.stage !== undefined ? 'cutover' : 'full';
  const synapseSide = await connect(ctx.synapseDb).then((db) =>
    readOnly(db, 'reading the Synapse database', async (q) => {
      const data = await checkSynapseData(q, { serverName: ctx.synapse.serverName, scope });
      // Not a Synapse database: the finding says so, and there is no identity to read.
      const notSynapse = data.findings.some((f) => f.code === 'E_SYNAPSE_SCHEMA_MISSING');
      return {
        ...data,
        guard: await readSessionGuard(q, 'Synapse'),
        identity: notSynapse ? undefined : await readSynapseIdentity(q, ctx.synapse.serverName),
        registrationTokens: notSynapse ? undefined : await readRegistrationTokenFacts(q),
      };
    }),
  );
  const tokens = registrationTokenFindings(synapseSide.registrationTokens ?? { usable: 0, expired: 0, usedUp: 0 }, masSide.schema);

  const providers = checkProviders({
    externalIds: synapseSide.facts.externalIds,
    synapseProviders: ctx.synapse.oidcProviders,
    masProviders: ctx.mas.upstreamProviders,
    explicitMapping: options.explicitMapping,
    ignoreMissingAuthProviders: options.ignoreMissingAuthProviders,
    masDatabaseProviders: masSide.providers,
  });
  const all: Finding[] = [
    ...checkConfig({
      synapse: ctx.synapse,
      mas: ctx.mas,
      masV1Pepper,
      localPasswordUsers: synapseSide.facts.localPasswordUsers,
    }),
    ...checkSecrets({ synapse: ctx.synapse, mas: ctx.mas, judgeStrength: scope === 'full' }),
    ...providers.findings,
    ...masSide.findings,
    ...connectionCheckFindings([masSide.guard, synapseSide.guard]),
    ...(masSide.stage === undefined || synapseSide.identity === undefined
      ? []
      : stageFindings({
          state: masSide.stage,
          identity: synapseSide.identity,
          providerMapping: providers.mapping,
          skippedProviders: new Set(providers.skipped.keys()),
          masMigration: masSide.schema.latestMigration,
          now: Date.now(),
        })),
    ...synapseSide.findings,
    ...tokens.findings,
    // The plan counts all of Synapse, which a cut-over does not scan.
    ...(scope === 'full' ? [summary(synapseSide.facts, providers.skipped, tokens.plan)] : []),
  ];
  const order = { error: 0, warning: 1, info: 2 } as const;
  const findings = all.map((f, i) => ({ f, i })).sort((a, b) => order[a.f.severity] - order[b.f.severity] || a.i - b.i).map((x) => x.f);

  const errors = findings.filter((f) => f.severity === 'error').length;
  const warningCodes = findings.filter((f) => f.severity === 'warning').map((f) => f.code);
  const accepted = [...new Set(warningCodes.filter((c) => options.accept.has(c)))];
  const warnings = warningCodes.filter((c) => !options.accept.has(c)).length;
  return {
    findings,
    accepted,
    errors,
    warnings,
    exitCode: errors > 0 ? 10 : warnings > 0 ? 11 : 0,
    facts: synapseSide.facts,
    masSchema: masSide.schema,
    providerMapping: providers.mapping,
    skippedProviders: providers.skipped,
    ...(masSide.stage !== undefined ? { stage: masSide.stage } : {}),
    timings: [...synapseSide.timings.map((t) => ({ name: `synapse: ${t.name}`, ms: t.ms })), { name: 'mas: database', ms: masSide.ms }],
  };
}

async function masDatabaseProviders(db: Queryable): Promise<Array<{ id: string; disabled: boolean }> | undefined> {
  const exists = await db.query<{ t: string | null }>(`SELECT to_regclass('upstream_oauth_providers')::text AS t`);
  if (exists.rows[0]?.t == null) return undefined;
  const { rows } = await db.query<{ id: string; disabled: boolean }>(
    'SELECT upstream_oauth_provider_id::text AS id, disabled_at IS NOT NULL AS disabled FROM upstream_oauth_providers',
  );
  return rows.map((r) => ({ id: uuidToULID(r.id), disabled: r.disabled }));
}

function summary(facts: SynapseFacts, skippedLinks: ReadonlyMap<string, number>, registrationTokens: RegistrationTokenPlan): Finding {
  const plan = { ...structuredClone(facts.plan), registrationTokens };
  for (const [provider, rows] of skippedLinks) {
    plan.upstreamLinks.migrate -= rows;
    plan.upstreamLinks.skipped[`unmapped_provider:${provider}`] = rows;
  }
  const skippedTotal = (e: { skipped: Record<string, number> }) => Object.values(e.skipped).reduce((a, b) => a + b, 0);
  return finding(
    'I_SUMMARY',
    'info',
    `${plan.users.migrate} users, ${plan.emails.migrate} emails, ${plan.upstreamLinks.migrate} SSO links, ${plan.devices.migrate} devices, ` +
      `${plan.accessTokens.migrate + plan.refreshTokens.migrate} access tokens (${plan.refreshTokens.migrate} with refresh tokens) and ` +
      `${registrationTokens.migrate} registration tokens would be migrated; ` +
      // Deviceless tokens are a subset of accessTokens: not counted twice.
      `${skippedTotal(plan.users)} users, ${skippedTotal(plan.devices)} devices, ${skippedTotal(plan.accessTokens) + skippedTotal(plan.refreshTokens)} tokens ` +
      `and ${skippedTotal(registrationTokens)} registration tokens skipped.`,
    { details: { plan } },
  );
}
