// The progress line never looks hung: once the rows are loaded, every step that follows (the
// rebuild, ANALYZE, the session summary, the commit; in a staged cut-over applying the changes,
// removing the stage, the commit) says what it is doing, instead of showing the last load or
// rebuild step while a long statement runs.
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/db/connection.js';
import { inspectMasSchema, type MasSchema } from '../../src/db/mas-schema.js';
import { describeProgress } from '../../src/report/progress.js';
import { loadSyn2masContext, type Syn2masContext } from '../../src/syn2mas/context.js';
import { runMigration, type ProgressState } from '../../src/syn2mas/migrate.js';
import { runDelta } from '../../src/syn2mas/stage/delta.js';
import { createSyn2masEnv, PROVIDER_ULID, type Syn2masEnv } from '../helpers/syn2mas-env.js';

const envs: Syn2masEnv[] = [];
afterAll(async () => {
  await Promise.all(envs.map((e) => e.drop()));
});

/**
 * A progress state that remembers each stage and phase the progress line could show: the state as
 * it stands once the code that changed it yields (the line is drawn from a timer, never in between).
 */
function recordingProgress(): { progress: ProgressState; shown: ProgressState[] } {
  const shown: ProgressState[] = [];
  const target: ProgressState = { stage: 'setup', phase: 'setup', done: 0, total: undefined };
  let pending = false;
  const record = (): void => {
    pending = false;
    const last = shown.at(-1);
    if (last?.stage !== target.stage || last.phase !== target.phase) shown.push({ ...target });
  };
  const progress = new Proxy<ProgressState>(target, {
    set(t, key, value) {
      Reflect.set(t, key, value);
      if (!pending) queueMicrotask(record);
      pending = true;
      return true;
    },
  });
  return { progress, shown };
}

/** What the progress line shows after the last row was loaded, rebuild steps counted but not listed. */
function afterTheLoad(shown: readonly ProgressState[]): { rebuildSteps: number; named: string[] } {
  const rest = shown.slice(shown.map((s) => s.stage).lastIndexOf('load') + 1).filter((s) => s.stage !== 'done');
  return {
    rebuildSteps: rest.filter((s) => s.stage === 'rebuild').length,
    named: rest.filter((s) => s.stage !== 'rebuild').map((s) => describeProgress(s, undefined)),
  };
}

async function setUp(): Promise<{ e: Syn2masEnv; ctx: Syn2masContext; schema: MasSchema }> {
  const e = await createSyn2masEnv();
  envs.push(e);
  const args = e.args('progress');
  const ctx = loadSyn2masContext({ masConfigPaths: [args[1] ?? ''], synapseConfigPaths: [args[3] ?? ''], env: {} });
  const probe = await connect(ctx.masDb);
  const schema = await inspectMasSchema(probe).finally(() => probe.end());
  return { e, ctx, schema };
}

const mapping = new Map([['oidc-raasu', PROVIDER_ULID]]);

describe('the progress line after the load', () => {
  it('names the rebuild, ANALYZE, the session summary and the commit of a migration, in order', async () => {
    const { ctx, schema } = await setUp();
    const { progress, shown } = recordingProgress();
    await runMigration(ctx, schema, { dryRun: false, providerMapping: mapping, skippedProviders: new Set(), progress });
    const after = afterTheLoad(shown);
    expect(after.rebuildSteps).toBeGreaterThan(10);
    expect(after.named).toEqual(['analyzing the MAS tables', 'counting the sessions that stay logged in', 'committing']);
  });

  it('names applying the changes, removing the stage and the commit of a staged cut-over', async () => {
    const { e, ctx, schema } = await setUp();
    await runMigration(ctx, schema, { dryRun: false, providerMapping: mapping, skippedProviders: new Set(), stage: true });
    await e.synapse.client.query(`UPDATE users SET admin = 1 WHERE name = '@alice:example.com'`);
    const { progress, shown } = recordingProgress();
    await runDelta(ctx, schema, { dryRun: false, cutover: true, providerMapping: mapping, skippedProviders: new Set(), progress });
    expect(shown.map((s) => s.phase)).toContain('applying the changes');
    expect(afterTheLoad(shown).named.slice(-2)).toEqual(['removing the stage', 'committing']);
    expect(afterTheLoad(shown).named.every((text) => !/\d+ \/ \d+/.test(text))).toBe(true);
  });
});
