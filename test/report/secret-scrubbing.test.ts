// Scrubbing secrets from what mas-tool writes: whole values only, and only where a value can appear.
// A weak secret ("PEPPER", "database", "password") never garbles mas-tool's own words (finding codes,
// field names, sentences), and the gaps never give the value away; text from outside (a driver's
// error, an HTTP answer) is still scrubbed of every secret, and strong secrets of everything.
import { describe, expect, it } from 'vitest';
import { DatabaseError } from '../../src/errors.js';
import { Output } from '../../src/report/output.js';
import { rememberSecret, scrubSecrets, scrubStrongSecrets, Secret } from '../../src/secret.js';
import { secretWeakness } from '../../src/secret-strength.js';

const STRONG = 'q7Vt2mXr9LpK4sZw8NcB';
Secret.fromString('PEPPER');
Secret.fromString('database');
Secret.fromString('password');
Secret.fromString(STRONG);

function capture(json = false): { out: Output; stdout: () => string; stderr: () => string } {
  let stdout = '';
  let stderr = '';
  const out = new Output(
    { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env: {} },
    { json, debug: false, color: false },
  );
  return { out, stdout: () => stdout, stderr: () => stderr };
}

describe('the output layer', () => {
  it('leaves its own words alone when a weak secret is one of them', () => {
    const c = capture();
    c.out.print('error E_PASSWORD_PEPPER_MISMATCH: the v1 pepper differs from password_config.pepper.');
    c.out.note('→ Synapse database synapse on db:5432 as synapse (from homeserver.yaml database.args)');
    c.out.note('Set the password of alice; the password is checked by MAS.');
    expect(c.stdout()).toBe('error E_PASSWORD_PEPPER_MISMATCH: the v1 pepper differs from password_config.pepper.\n');
    expect(c.stderr()).toBe(
      '→ Synapse database synapse on db:5432 as synapse (from homeserver.yaml database.args)\nSet the password of alice; the password is checked by MAS.\n',
    );
  });

  it('scrubs a strong secret from everything it writes, wherever it occurs, also in JSON', () => {
    const c = capture(true);
    c.out.note(`connecting with ${STRONG}, or x${STRONG}y`);
    c.out.writeJson({ ok: false, error: { code: 'X', message: `token ${STRONG}` }, database: 'database' });
    expect(c.stderr()).toBe('connecting with [redacted], or x[redacted]y\n');
    expect(JSON.parse(c.stdout())).toEqual({ ok: false, error: { code: 'X', message: 'token [redacted]' }, database: 'database' });
  });
});

describe('text from outside', () => {
  it('is scrubbed of weak secrets where they stand whole, not inside longer words or codes', () => {
    expect(scrubSecrets('postgres://synapse:database@db/synapse failed')).toBe('postgres://synapse:[redacted]@db/synapse failed');
    expect(scrubSecrets('E_PASSWORD_PEPPER_MISMATCH PEPPERS pepper PEPPER.')).toBe('E_PASSWORD_PEPPER_MISMATCH PEPPERS pepper [redacted].');
    expect(scrubSecrets('databases, my_database, database1')).toBe('databases, my_database, database1');
  });

  it('is scrubbed of strong secrets anywhere', () => {
    expect(scrubSecrets(`Bearer${STRONG}!`)).toBe('Bearer[redacted]!');
    expect(scrubStrongSecrets('password database PEPPER')).toBe('password database PEPPER');
  });

  it('a value remembered from a database row is scrubbed like a Secret', () => {
    rememberSecret('syt_YWxpY2U_remembered_Xy7Q');
    expect(scrubStrongSecrets('token syt_YWxpY2U_remembered_Xy7Q')).toBe('token [redacted]');
  });

  it("a PostgreSQL error quoting a secret is scrubbed, the tool's own words around it are not", () => {
    const error = new DatabaseError('connecting to the Synapse database', Object.assign(new Error('password "database" is wrong for the database'), { code: '28P01' }));
    expect(error.message).toBe('Failed while connecting to the Synapse database: [redacted] "[redacted]" is wrong for the [redacted]');
  });
});

describe('secret strength', () => {
  it('calls short values and guessable ones weak, long random ones strong', () => {
    expect(secretWeakness('PEPPER')).toBe('short');
    expect(secretWeakness('database')).toBe('short');
    expect(secretWeakness('passwordpassword')).toBe('guessable');
    expect(secretWeakness('Synapse database')).toBe('guessable');
    expect(secretWeakness(STRONG)).toBeUndefined();
    expect(secretWeakness('4f1c2e8a9b7d6e5f4a3b2c1d0e9f8a7b')).toBeUndefined();
  });
});
