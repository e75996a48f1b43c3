// Every session mas-tool opens asks the server to notice a client that is gone (so that a killed run
// leaves no backend holding its locks), and `syn2mas check` says when a server cannot: an orphaned
// run may then hold its locks until its statement ends, and the finding says how to end it.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { connect, resolveTarget } from '../../src/db/connection.js';
import { parseConnectionUri } from '../../src/db/uri.js';
import { connectionCheckFindings, readSessionGuard } from '../../src/syn2mas/checks/connection-check.js';
import { run } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { createSyn2masEnv } from '../helpers/syn2mas-env.js';

describe('the sessions mas-tool opens', () => {
  const db = useTestDatabase('empty');

  it('ask for client_connection_check_interval and TCP keepalives, under the application name a stuck run is found by', async () => {
    const client = await connect(resolveTarget('MAS', 'test', parseConnectionUri(db.url, 'test'), {}, 'mas-tool'));
    try {
      const { rows } = await client.query<Record<string, string>>(
        `SELECT current_setting('client_connection_check_interval') AS check, current_setting('tcp_keepalives_idle') AS idle,
                current_setting('tcp_keepalives_interval') AS interval, current_setting('tcp_keepalives_count') AS count,
                current_setting('application_name') AS app`,
      );
      expect(rows[0]).toEqual({ check: '2s', idle: '60', interval: '10', count: '6', app: 'mas-tool' });
      expect(connectionCheckFindings([await readSessionGuard(client, 'MAS')])).toEqual([]);
    } finally {
      await client.end();
    }
  });

  it('a session where the check stayed off (a platform without it) is reported, with the SQL that ends an orphaned run', async () => {
    const plain = new pg.Client({ connectionString: db.url });
    await plain.connect();
    try {
      const [found] = connectionCheckFindings([await readSessionGuard(plain, 'MAS')]);
      expect(found).toMatchObject({ code: 'I_NO_CONNECTION_CHECK', severity: 'info' });
      expect(found?.message).toMatch(/^The MAS database's server \(PostgreSQL \d+/);
      expect(found?.message).toContain('cannot check client connections on its platform');
      expect(found?.fix).toContain("pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'mas-tool%'");
    } finally {
      await plain.end();
    }
  });

  it('names the missing setting on an older server', () => {
    const [found] = connectionCheckFindings([{ label: 'Synapse', serverVersion: '13.16', checkInterval: null }]);
    expect(found?.message).toMatch(/^The Synapse database's server \(PostgreSQL 13\.16\) .*no client_connection_check_interval \(PostgreSQL 14 and later\)/);
    expect(found?.details).toMatchObject({ database: 'Synapse', clientConnectionCheckInterval: null });
  });
});

describe('syn2mas check', () => {
  it('reports nothing about orphaned runs where the server checks connections', async () => {
    const e = await createSyn2masEnv();
    try {
      const r = await run(['syn2mas', 'check', '--json', ...e.args('check')]);
      const doc = JSON.parse(r.stdout) as { findings: Array<{ code: string }> };
      expect(doc.findings.length).toBeGreaterThan(0);
      expect(doc.findings.map((f) => f.code)).not.toContain('I_NO_CONNECTION_CHECK');
    } finally {
      await e.drop();
    }
  });
});
