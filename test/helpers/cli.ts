// Runs the CLI in-process with captured streams, as a user would run it from a shell.
import { Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(args: string[], opts: { env?: NodeJS.ProcessEnv; tty?: boolean; stdin?: string } = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'mas-tool', ...args], {
    stdout: { write: (s: string) => (stdout += s), isTTY: opts.tty ?? false },
    stderr: { write: (s: string) => (stderr += s), isTTY: opts.tty ?? false },
    env: opts.env ?? {},
    stdin: Readable.from(opts.stdin === undefined ? [] : [Buffer.from(opts.stdin)]),
  });
  return { code, stdout, stderr };
}
