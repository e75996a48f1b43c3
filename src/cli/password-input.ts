// Passwords reach mas-tool only from stdin (--password-stdin, for scripts: `printf %s "$PW" | ...`)
// or from a prompt on a terminal that does not echo them; never from argv, where `ps` and shell
// history would keep them.
import { InterruptedError } from '../db/interrupt.js';
import { UsageError } from '../errors.js';
import type { PasswordSource } from '../report/output.js';
import { Secret } from '../secret.js';

/** The whole of stdin, less one trailing line break (what `echo` adds). */
export async function readPasswordFromStdin(stdin: PasswordSource | undefined): Promise<Secret> {
  if (stdin === undefined) throw new UsageError('--password-stdin was given but there is no standard input.');
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  let bytes = Buffer.concat(chunks);
  if (bytes.at(-1) === 0x0a) bytes = bytes.subarray(0, bytes.at(-2) === 0x0d ? -2 : -1);
  const password = Secret.fromBytes(bytes);
  chunks.forEach((c) => c.fill(0));
  if (password.byteLength === 0) throw new UsageError('--password-stdin read an empty password.', { hint: 'Pipe the password in, e.g. `printf %s "$PASSWORD" | mas-tool manage ...`.' });
  return password;
}

/** Asks twice on the terminal with echo off; the two must match. */
export async function promptPassword(stdin: PasswordSource | undefined, stderr: { write(s: string): unknown }, what: string): Promise<Secret> {
  if (stdin?.isTTY !== true || stdin.setRawMode === undefined || stdin.on === undefined) {
    throw new UsageError('No password given: pass it on standard input with --password-stdin (there is no terminal to prompt on).', {
      hint: 'For example `printf %s "$PASSWORD" | mas-tool manage set-password alice --password-stdin`. Passwords are never taken from the command line.',
    });
  }
  const first = await readHidden(stdin, stderr, `${what}: `);
  const second = await readHidden(stdin, stderr, 'Again, to confirm: ');
  if (!first.equals(second)) throw new UsageError('The two passwords differ; nothing was changed.');
  if (first.byteLength === 0) throw new UsageError('An empty password was typed; nothing was changed.');
  return first;
}

function readHidden(stdin: PasswordSource, stderr: { write(s: string): unknown }, prompt: string): Promise<Secret> {
  stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (error?: Error): void => {
      stdin.setRawMode?.(false);
      stdin.removeListener?.('data', onData);
      stdin.pause?.();
      stderr.write('\n');
      if (error) reject(error);
      else resolve(Secret.fromString(typed));
      typed = '';
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        // Ctrl-C reaches a raw terminal as a character, not as SIGINT: the same outcome as the signal.
        if (ch === '\u0003') return done(new InterruptedError('SIGINT', 'no-transaction'));
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    stdin.setRawMode?.(true);
    stdin.resume?.();
    stdin.on?.('data', onData);
  });
}
