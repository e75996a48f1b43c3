// W_ORPHAN_ROWS examples read the same whichever table has orphan rows first: a device of a user
// that does not exist is shown as its table, user and device, never "... undefined undefined".
import { describe, expect, it } from 'vitest';
import { renderFindings } from '../../src/report/check.js';
import { checkSynapseData } from '../../src/syn2mas/checks/synapse-data.js';
import { createTestDatabase, loadFixture } from '../helpers/db.js';

const plain = { red: String, yellow: String, green: String, bold: String, dim: String };

describe('W_ORPHAN_ROWS examples', () => {
  it('name the table, the user and the device when devices and tokens are the only orphans', async () => {
    const db = await createTestDatabase('synapse');
    try {
      await loadFixture(db.client, 'check-clean.sql');
      await db.client.query(`
        INSERT INTO devices (user_id, device_id, hidden) VALUES ('@ghost:example.com', 'GHOSTDEV', false);
        INSERT INTO access_tokens (id, user_id, device_id, token) VALUES (900, '@ghost:example.com', 'GHOSTDEV', 'syt_ghost_token_0000000000000000000');`);
      await db.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const { findings } = await checkSynapseData(db.client, { serverName: 'example.com' });
      await db.client.query('COMMIT');
      const orphans = findings.find((f) => f.code === 'W_ORPHAN_ROWS');
      expect(orphans?.details?.examples).toEqual([
        { table: 'devices', userId: '@ghost:example.com', deviceId: 'GHOSTDEV' },
        { table: 'access_tokens', userId: '@ghost:example.com', deviceId: 'GHOSTDEV' },
      ]);
      const lines = renderFindings('Warnings', orphans === undefined ? [] : [orphans], plain);
      expect(lines.join('\n')).toContain('examples: devices @ghost:example.com GHOSTDEV; access_tokens @ghost:example.com GHOSTDEV');
      expect(lines.join('\n')).not.toContain('undefined');
    } finally {
      await db.drop();
    }
  });
});
