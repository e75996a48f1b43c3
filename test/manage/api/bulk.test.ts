// Bulk commands in batches over the admin API: the same outcome as on the database (see
// test/manage/db/bulk.test.ts), one request per user, nothing sent for a batch with a failure or
// for any batch after it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseMasConfig } from '../../../src/config/mas.js';
import { lock } from '../../../src/manage/commands/account.js';
import type { ManageBackend } from '../../../src/manage/backend.js';
import { sourced } from '../../helpers/config.js';
import { apiEnv, type ApiEnv } from './env.js';

let env: ApiEnv;
let backend: ManageBackend;

beforeEach(async () => {
  env = await apiEnv();
  backend = await env.open();
});
afterEach(async () => {
  await env.close();
});

const mas = parseMasConfig(sourced({ matrix: { homeserver: 'example.com' } }, 'mas.yaml'));

describe('bulk manage in batches (admin API)', () => {
  it('locks the batches before the first failure and sends nothing from it on', async () => {
    const users = Array.from({ length: 7 }, (_, i) => env.fake.addUser(`u${i}`));
    const result = await lock({ backend, mas, serverName: 'example.com', dryRun: false, batchSize: 3 }, ['u0', 'u1', 'u2', 'u3', 'nobody', 'u5', 'u6'], { deactivate: false });
    expect(result.summary).toEqual({ changed: 3, unchanged: 0, wouldChange: 3, failed: 1 });
    expect(users.map((u) => u.lockedAt !== null)).toEqual([true, true, true, false, false, false, false]);
    expect(env.fake.apiCalls().filter((c) => c.endsWith('/lock'))).toEqual(users.slice(0, 3).map((u) => `POST /users/${u.id}/lock`));
  });
});
