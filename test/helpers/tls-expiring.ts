// Certificates near or past their end, for the TLS checks of doctor: one that expires in a few days
// and one that has already expired, both for 127.0.0.1 and localhost and signed by a fresh private
// CA (made by makeCertificates of ./tls.js), so that the chain itself verifies with that CA.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCertificates, type TestCertificates } from './tls.js';

export interface ExpiringCertificates {
  /** The CA (and its directory) that signed both. */
  ca: TestCertificates;
  /** Valid now, expires in `expiresInDays` days. */
  expiring: { key: string; cert: string };
  /** Valid from 60 days ago until 2 days ago. */
  expired: { key: string; cert: string };
}

/** `openssl ca` date format: YYYYMMDDHHMMSSZ. */
function opensslDate(d: Date): string {
  return `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

export function makeExpiringCertificates(options: { expiresInDays?: number } = {}): ExpiringCertificates {
  // makeCertificates' own server certificate is the expiring one.
  const ca = makeCertificates({ days: options.expiresInDays ?? 5 });
  const dir = ca.dir;
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  // `openssl x509 -days` cannot date a certificate in the past; `openssl ca` can, with its small
  // file database.
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = test_ca',
      '[test_ca]',
      'database = index.txt',
      'new_certs_dir = .',
      'serial = serial',
      'default_md = sha256',
      'policy = any_policy',
      'unique_subject = no',
      '[any_policy]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'expired.key', '-out', 'expired.csr', '-subj', '/CN=127.0.0.1']);
  const now = Date.now();
  const day = 24 * 60 * 60 * 1000;
  run([
    'ca', '-batch', '-notext', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', 'expired.csr', '-out', 'expired.pem',
    '-startdate', opensslDate(new Date(now - 60 * day)), '-enddate', opensslDate(new Date(now - 2 * day)), '-extfile', 'ext.cnf',
  ]);
  return {
    ca,
    expiring: { key: ca.key, cert: ca.cert },
    expired: { key: readFileSync(join(dir, 'expired.key'), 'utf8'), cert: readFileSync(join(dir, 'expired.pem'), 'utf8') },
  };
}
