// No cliffs: every query that `syn2mas check`, `migrate` and `verify` send is planned without a
// nested loop and without a correlated subquery, so that its cost stays linear (or n log n) in the
// size of the server whatever the planner's statistics say. The commands run for real on our
// fixtures while every statement they send is recorded; each read is then planned again with
// EXPLAIN, after the same session settings (SET LOCAL) the command had sent before it. Tiny fixture
// tables are the hardest case: they are exactly where a planner left to itself picks nested loops.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/cli.js';
import { createSyn2masEnv, type Syn2masEnv } from '../helpers/syn2mas-env.js';

interface Recorded {
  database: string;
  statements: Array<{ text: string; values?: unknown[] }>;
}

interface PlanNode {
  'Node Type': string;
  'Parent Relationship'?: string;
  'Subplan Name'?: string;
  Strategy?: string;
  Plans?: PlanNode[];
}

/** Records every statement sent through pg.Client while `fn` runs, per connection. */
async function recording(fn: () => Promise<void>): Promise<Recorded[]> {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const byClient = new Map<object, Recorded>();
  proto.query = function (this: pg.Client & object, ...args: unknown[]) {
    let entry = byClient.get(this);
    if (entry === undefined) {
      entry = { database: this.database ?? '', statements: [] };
      byClient.set(this, entry);
    }
    const [first, second] = args;
    if (typeof first === 'string') entry.statements.push({ text: first, ...(Array.isArray(second) ? { values: second } : {}) });
    else if (first !== null && typeof first === 'object' && typeof (first as { text?: unknown }).text === 'string') {
      const q = first as { text: string; values?: unknown[] };
      entry.statements.push({ text: q.text, ...(Array.isArray(q.values) ? { values: q.values } : Array.isArray(second) ? { values: second } : {}) });
    }
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    proto.query = original;
  }
  return [...byClient.values()];
}

/** The read a statement makes, if it makes one: a SELECT or WITH query, or the query of a COPY ... TO. */
function readOf(text: string): string | undefined {
  const t = text.trim();
  const copy = /^COPY\s*\(([\s\S]*)\)\s*TO\s+STDOUT/i.exec(t);
  if (copy?.[1] !== undefined) return copy[1];
  if (/^(SELECT|WITH)\b/i.test(t)) return t;
  return undefined;
}

/** Why a plan could grow faster than its input, or undefined. */
function cliff(node: PlanNode): string | undefined {
  // A hashed subplan is built once; any other subplan runs again for every row of its parent.
  const name = node['Subplan Name'] ?? 'SubPlan';
  if (node['Parent Relationship'] === 'SubPlan' && !name.startsWith('hashed')) return `a correlated subquery (${name}) runs once per row`;
  if (node['Node Type'] === 'Nested Loop') {
    // Not a join that loops: the outer side is one row (a plain aggregate or a constant), or the
    // inner side is a function of the outer row (unnest of its array).
    const [outer, inner] = node.Plans ?? [];
    const single = outer !== undefined && ((outer['Node Type'] === 'Aggregate' && outer.Strategy === 'Plain') || outer['Node Type'] === 'Result');
    const perRow = inner !== undefined && inner['Node Type'] === 'Function Scan';
    if (!single && !perRow) return 'a nested loop join';
  }
  for (const child of node.Plans ?? []) {
    const found = cliff(child);
    if (found !== undefined) return found;
  }
  return undefined;
}

interface Offender {
  database: string;
  problem: string;
  query: string;
}

/** Plans every recorded read in its own connection's settings; returns those with a cliff. */
async function offenders(recorded: readonly Recorded[], urlOf: (database: string) => string | undefined): Promise<{ planned: number; offenders: Offender[] }> {
  let planned = 0;
  const found: Offender[] = [];
  for (const r of recorded) {
    const url = urlOf(r.database);
    if (url === undefined) continue;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('BEGIN');
      for (const s of r.statements) {
        if (/^\s*SET\s+LOCAL\b/i.test(s.text)) {
          await client.query(s.text);
          continue;
        }
        const read = readOf(s.text);
        if (read === undefined) continue;
        // Catalogue and lock probes are not about the data's size.
        if (/\b(pg_catalog|information_schema|pg_class|pg_try_advisory|_sqlx_migrations|current_setting)\b/.test(read) && !/\bFROM\s+(users|devices|access_tokens)\b/.test(read)) continue;
        const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) ${read}`, s.values);
        planned++;
        const plan = rows[0]?.['QUERY PLAN'][0]?.Plan;
        const problem = plan === undefined ? 'no plan' : cliff(plan);
        if (problem !== undefined) found.push({ database: r.database, problem, query: read.replace(/\s+/g, ' ').slice(0, 300) });
      }
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
    }
  }
  return { planned, offenders: found };
}

describe('plans of the bulk queries', () => {
  const envs: Syn2masEnv[] = [];
  let main: Syn2masEnv;
  let messy: Syn2masEnv;
  const urlOf = (database: string): string | undefined => {
    for (const e of envs) {
      if (e.synapse.url.endsWith(`/${database}`)) return e.synapse.url;
      if (e.mas.url.endsWith(`/${database}`)) return e.mas.url;
    }
    return undefined;
  };

  beforeAll(async () => {
    main = await createSyn2masEnv();
    messy = await createSyn2masEnv({ fixtures: ['check-messy.sql'] });
    envs.push(main, messy);
  });
  afterAll(async () => {
    await Promise.all(envs.map((e) => e.drop()));
  });

  it('check, on a database with every kind of problem, sends no query with a nested loop or a correlated subquery', async () => {
    const recorded = await recording(async () => {
      const r = await run(['syn2mas', 'check', '--json', ...messy.args('messy')]);
      expect(r.code).toBe(10);
    });
    const { planned, offenders: bad } = await offenders(recorded, urlOf);
    expect(planned).toBeGreaterThan(15);
    expect(bad).toEqual([]);
  });

  it('migrate and verify send no query with a nested loop or a correlated subquery', async () => {
    const recorded = await recording(async () => {
      const m = await run(['syn2mas', 'migrate', '--json', '--report', join(main.dir, 'report.json'), ...main.args('main')]);
      expect(m.code).toBe(0);
      const v = await run(['syn2mas', 'verify', '--json', ...main.args('main')]);
      expect(v.code).toBe(0);
    });
    const { planned, offenders: bad } = await offenders(recorded, urlOf);
    // Every phase query, the summary, and every verify comparison on both sides.
    expect(planned).toBeGreaterThan(30);
    expect(bad).toEqual([]);
    const report = JSON.parse(readFileSync(join(main.dir, 'report.json'), 'utf8')) as { migration: { phases: Array<{ name: string }> } };
    expect(report.migration.phases.map((p) => p.name)).toEqual(expect.arrayContaining(['analyze', 'session summary', 'commit']));
  });

  it('would catch the plans that make a step quadratic', async () => {
    const database = new URL(main.mas.url).pathname.slice(1);
    const recorded: Recorded[] = [
      {
        database,
        statements: [
          // What missing statistics did to the old session summary: the planner believed a side was
          // tiny and looped over a CTE for every user. Forbidding the alternatives forces that plan.
          { text: 'SET LOCAL enable_hashjoin = off' },
          { text: 'SET LOCAL enable_mergejoin = off' },
          {
            text: `WITH working AS (SELECT DISTINCT s.compat_session_id, s.user_id FROM compat_sessions s JOIN compat_access_tokens t ON t.compat_session_id = s.compat_session_id)
                   SELECT count(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM working w WHERE w.user_id = u.user_id)`,
          },
        ],
      },
      {
        database,
        // A lookup per row inside an expression is a subplan whatever the settings.
        statements: [{ text: `SELECT count(*) FILTER (WHERE CASE WHEN s.device_id IS NULL THEN NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = s.user_id) END) FROM compat_sessions s` }],
      },
    ];
    const { planned, offenders: bad } = await offenders(recorded, urlOf);
    expect(planned).toBe(2);
    expect(bad.map((o) => o.problem)).toEqual(['a nested loop join', expect.stringMatching(/^a correlated subquery \(SubPlan \d+\) runs once per row$/)]);
  });
});
