// Bulk commands in batches on the MAS database: every batch is all or nothing, a failed batch
// stops the writing (the batches after it are still checked, so every failure is listed), the
// batches before it stay written, results go to the sink batch by batch and are not kept.
import { describe, expect, it } from 'vitest';
import { parseMasConfig } from '../../../src/config/mas.js';
import { lock, setAdmin } from '../../../src/manage/commands/account.js';
import type { ItemSink, ManageContext } from '../../../src/manage/commands/context.js';
import type { ItemResult } from '../../../src/manage/model.js';
import { sourced } from '../../helpers/config.js';
import { useTestDatabase } from '../../helpers/db.js';
import { backendFor, cleanBetweenTests, jobs, seedUser } from './helpers.js';

const db = useTestDatabase('mas');
cleanBetweenTests(db);

const mas = parseMasConfig(sourced({ matrix: { homeserver: 'example.com', secret: 'x-shared-secret' } }, 'mas.yaml'));

async function context(extra: Partial<ManageContext> = {}): Promise<ManageContext> {
  return { backend: await backendFor(db), mas, serverName: 'example.com', dryRun: false, batchSize: 3, ...extra };
}

async function locked(): Promise<string[]> {
  const { rows } = await db.client.query<{ username: string }>('SELECT username FROM users WHERE locked_at IS NOT NULL ORDER BY username');
  return rows.map((r) => r.username);
}

describe('bulk manage in batches (database)', () => {
  it('writes the batches before the first failure, nothing from it on, and lists every failure', async () => {
    for (let i = 0; i < 8; i++) await seedUser(db.client, `u${i}`);
    const result = await lock(await context(), ['u0', 'u1', 'u2', 'u3', 'nobody', 'u5', 'u6', 'ghost'], { deactivate: false });
    expect(result.items.map((i) => [i.subject, i.status])).toEqual([
      ['u0', 'changed'],
      ['u1', 'changed'],
      ['u2', 'changed'],
      ['u3', 'would-change'],
      ['nobody', 'failed'],
      ['u5', 'would-change'],
      ['u6', 'would-change'],
      ['ghost', 'failed'],
    ]);
    expect(result.summary).toEqual({ changed: 3, unchanged: 0, wouldChange: 3, failed: 2 });
    expect(result.aborted).toBe('2 of 8 items failed');
    expect(await locked()).toEqual(['u0', 'u1', 'u2']);
    // Only the written batch scheduled jobs.
    expect((await jobs(db.client)).map((j) => j.queue_name)).toEqual(['provision-user', 'provision-user', 'provision-user']);
  });

  it('a second run after the fix reports the written ones as unchanged and does the rest', async () => {
    for (let i = 0; i < 6; i++) await seedUser(db.client, `u${i}`);
    await lock(await context(), ['u0', 'u1', 'u2', 'u3', 'nobody', 'u5'], { deactivate: false });
    const again = await lock(await context(), ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'], { deactivate: false });
    expect(again.summary).toEqual({ changed: 3, unchanged: 3, wouldChange: 0, failed: 0 });
    expect(again.aborted).toBeUndefined();
    expect(await locked()).toEqual(['u0', 'u1', 'u2', 'u3', 'u4', 'u5']);
  });

  it('hands each batch to the sink as it is done and keeps none of them', async () => {
    for (let i = 0; i < 7; i++) await seedUser(db.client, `u${i}`);
    const seen: ItemResult[][] = [];
    const heads: unknown[] = [];
    const sink: ItemSink = { begin: (h) => heads.push(h), items: (b) => seen.push([...b]) };
    const result = await setAdmin(await context({ sink }), ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6'], true);
    expect(heads).toEqual([{ command: 'set-admin', backend: 'db', dryRun: false }]);
    expect(seen.map((b) => b.map((i) => i.subject))).toEqual([['u0', 'u1', 'u2'], ['u3', 'u4', 'u5'], ['u6']]);
    expect(result).toMatchObject({ items: [], itemsStreamed: true, summary: { changed: 7, failed: 0 } });
  });

  it('changes nothing on a dry run, however many batches', async () => {
    for (let i = 0; i < 5; i++) await seedUser(db.client, `u${i}`);
    const result = await lock(await context({ dryRun: true }), ['u0', 'u1', 'u2', 'u3', 'u4'], { deactivate: false });
    expect(result.summary).toEqual({ changed: 0, unchanged: 0, wouldChange: 5, failed: 0 });
    expect(await locked()).toEqual([]);
    expect(await jobs(db.client)).toEqual([]);
  });

  it('takes its input as batches read on demand (an async iterable), as --from-file gives them', async () => {
    for (let i = 0; i < 4; i++) await seedUser(db.client, `u${i}`);
    const asked: number[] = [];
    async function* input() {
      for (const batch of [['u0', 'u1'], ['u2', 'u3']]) {
        asked.push(batch.length);
        yield batch;
      }
    }
    const result = await lock(await context(), input(), { deactivate: false });
    expect(asked).toEqual([2, 2]);
    expect(result.summary?.changed).toBe(4);
  });
});
