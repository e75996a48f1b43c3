import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMasConfigFiles, loadSynapseConfigFiles, resolveMasConfigPaths } from '../../src/config/read.js';
import { parseMasConfig } from '../../src/config/mas.js';
import { parseSynapseConfig } from '../../src/config/synapse.js';
import { readSecretSource } from '../../src/config/secret-source.js';
import { ConfigError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'mas-tool-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

function thrown(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('loading Synapse config files', () => {
  it('reads a Debian split config: a file plus a conf.d directory in sorted order, merged shallowly', () => {
    const main = write(
      'debian/homeserver.yaml',
      'database:\n  name: psycopg2\n  args:\n    user: synapse\n    host: localhost\nenable_registration: no\n',
    );
    write('debian/conf.d/server_name.yaml', 'server_name: example.org\n');
    write('debian/conf.d/50-database.yaml', 'database:\n  name: psycopg2\n  args:\n    dbname: synapse_prod\n');
    write('debian/conf.d/10-guests.yaml', 'allow_guest_access: on\n');
    write('debian/conf.d/notes.yml', 'server_name: ignored.example\n');
    mkdirSync(join(dir, 'debian/conf.d/subdir.yaml'), { recursive: true });

    const loaded = loadSynapseConfigFiles([main, join(dir, 'debian/conf.d')]);
    expect(loaded.files.map((f) => f.slice(dir.length + 1))).toEqual([
      'debian/homeserver.yaml',
      'debian/conf.d/10-guests.yaml',
      'debian/conf.d/50-database.yaml',
      'debian/conf.d/server_name.yaml',
    ]);
    const config = parseSynapseConfig(loaded);
    expect(config.serverName).toBe('example.org');
    // The later `database` replaced the whole earlier one: user and host are gone, as in Synapse.
    expect(config.database?.args).toEqual({ dbname: 'synapse_prod' });
    // YAML 1.1, as PyYAML reads it.
    expect(config.allowGuestAccess).toBe(true);
    expect(config.enableRegistration).toBe(false);
    expect(loaded.fileOf('database.args.dbname')).toBe(join(dir, 'debian/conf.d/50-database.yaml'));
  });

  it('names the file and the key of a wrong value', () => {
    const a = write('named/a.yaml', 'server_name: example.org\n');
    const b = write('named/b.yaml', 'bcrypt_rounds: many\n');
    const error = thrown(() => parseSynapseConfig(loadSynapseConfigFiles([a, b])));
    expect(error.problems).toEqual([{ file: b, key: 'bcrypt_rounds', message: 'expected a whole number, found "many"' }]);
    expect(error.message).toContain(`${b}: bcrypt_rounds: expected a whole number`);
  });

  it('supports YAML anchors and merge keys and tolerates repeated keys, as PyYAML does', () => {
    const f = write('anchors.yaml', 'common: &c\n  user: synapse\nserver_name: a\nserver_name: b\ndatabase:\n  name: psycopg2\n  args:\n    <<: *c\n    dbname: s\n');
    const config = parseSynapseConfig(loadSynapseConfigFiles([f]));
    expect(config.serverName).toBe('b');
    expect(config.database?.args).toEqual({ user: 'synapse', dbname: 's' });
  });

  it('reports invalid YAML with file, line and column', () => {
    const f = write('broken.yaml', 'server_name: example.org\ndatabase:\n  name: "psycopg2\n');
    const error = thrown(() => loadSynapseConfigFiles([f]));
    expect(error.message).toContain('is not valid YAML');
    expect(error.problems[0]?.file).toMatch(new RegExp(`^${f}:\\d+:\\d+$`));
  });

  it('rejects a missing path and a file that is not a mapping', () => {
    expect(thrown(() => loadSynapseConfigFiles([join(dir, 'nope.yaml')])).message).toContain('does not exist');
    const list = write('list.yaml', '- a\n- b\n');
    expect(thrown(() => loadSynapseConfigFiles([list])).message).toContain('must contain a YAML mapping');
    expect(thrown(() => loadSynapseConfigFiles([])).hint).toContain('--synapse-config');
  });

  it('treats an empty file as no settings', () => {
    const empty = write('empty.yaml', '');
    const named = write('only-name.yaml', 'server_name: x\n');
    expect(parseSynapseConfig(loadSynapseConfigFiles([empty, named])).serverName).toBe('x');
  });
});

describe('loading MAS config files', () => {
  it('merges deeply, later files win, arrays are appended', () => {
    const a = write('mas/a.yaml', 'matrix:\n  homeserver: example.org\n  secret: one\nclients:\n  - client_id: 01J44RKQYM4G3TNVANTMTDYTX6\n    client_auth_method: none\n');
    const b = write('mas/b.yaml', 'matrix:\n  secret: two\nclients:\n  - client_id: 01J44RKQYM4G3TNVANTMTDYTX7\n    client_auth_method: none\n');
    const loaded = loadMasConfigFiles([a, b]);
    const config = parseMasConfig(loaded);
    expect(config.matrix.homeserver).toBe('example.org');
    expect(config.matrix.secret?.kind === 'inline' && config.matrix.secret.value.reveal()).toBe('two');
    expect(config.clients.map((c) => c.clientId)).toEqual(['01J44RKQYM4G3TNVANTMTDYTX6', '01J44RKQYM4G3TNVANTMTDYTX7']);
    expect(loaded.fileOf('matrix.homeserver')).toBe(a);
    expect(loaded.fileOf('matrix.secret')).toBe(b);
    expect(loaded.fileOf('clients[1].client_auth_method')).toBe(b);
  });

  it('reads YAML 1.2: `yes` is a string, and a repeated key is an error', () => {
    const f = write('mas/yes.yaml', 'matrix:\n  homeserver: yes\n');
    expect(parseMasConfig(loadMasConfigFiles([f])).matrix.homeserver).toBe('yes');
    const dup = write('mas/dup.yaml', 'matrix:\n  homeserver: a\n  homeserver: b\n');
    expect(thrown(() => loadMasConfigFiles([dup])).message).toContain('is not valid YAML');
  });

  it('names the file that set a wrong key', () => {
    const a = write('mas/ok.yaml', 'matrix:\n  homeserver: example.org\n');
    const b = write('mas/bad.yaml', 'passwords:\n  schemes:\n    - version: 1\n      algorithm: sha1\n');
    const error = thrown(() => parseMasConfig(loadMasConfigFiles([a, b])));
    expect(error.problems[0]).toMatchObject({ file: b, key: 'passwords.schemes[0].algorithm' });
  });

  it('refuses a named file that does not exist', () => {
    expect(thrown(() => loadMasConfigFiles([join(dir, 'missing.yaml')])).message).toContain('does not exist');
  });

  it('finds the config from -c, else MAS_CONFIG, else config.yaml', () => {
    expect(resolveMasConfigPaths(['x.yaml'], { MAS_CONFIG: 'a:b' })).toEqual(['x.yaml']);
    expect(resolveMasConfigPaths([], { MAS_CONFIG: 'a.yaml:b.yaml' })).toEqual(['a.yaml', 'b.yaml']);
    expect(resolveMasConfigPaths([], {})).toEqual(['config.yaml']);
  });
});

describe('secret files', () => {
  it('reads a pepper file raw and a shared secret file trimmed, as MAS does', () => {
    const pepper = write('secrets/pepper', 'pepper\n');
    const shared = write('secrets/shared', '  shared-secret\n');
    expect(readSecretSource({ kind: 'file', path: pepper, key: 'passwords.schemes[0].secret_file' }, 'raw').reveal()).toBe('pepper\n');
    expect(readSecretSource({ kind: 'file', path: shared, key: 'matrix.secret_file' }, 'trim').reveal()).toBe('shared-secret');
  });

  it('names the key and the file when a secret file cannot be read', () => {
    const error = thrown(() =>
      readSecretSource({ kind: 'file', path: join(dir, 'secrets/absent'), key: 'matrix.secret_file', file: 'mas.yaml' }, 'trim'),
    );
    expect(error.message).toContain('mas.yaml: matrix.secret_file names the file');
    expect(error.message).toContain('ENOENT');
  });
});
