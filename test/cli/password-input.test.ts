// Passwords from a terminal (typed twice, never echoed) or from standard input (one trailing newline
// dropped). The terminal is a stream that says it is a TTY and records raw mode, as process.stdin does.
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { promptPassword, readPasswordFromStdin } from '../../src/cli/password-input.js';
import { MasToolError } from '../../src/errors.js';

function terminal(typed: string[]): { stdin: PassThrough & { isTTY: boolean; setRawMode(m: boolean): void; raw: boolean[] }; stderr: { text: string; write(s: string): void } } {
  const stdin = Object.assign(new PassThrough(), { isTTY: true, raw: [] as boolean[], setRawMode(m: boolean) { stdin.raw.push(m); } });
  const stderr = { text: '', write(s: string) { this.text += s; } };
  // Each answer is typed once the prompt for it is on the screen.
  let answered = 0;
  const write = stderr.write.bind(stderr);
  stderr.write = (s: string) => {
    write(s);
    if (s.endsWith(': ') && answered < typed.length) setImmediate(() => stdin.write(typed[answered++]!));
  };
  return { stdin, stderr };
}

describe('password input', () => {
  it('asks twice in raw mode without echoing, handles backspace, and restores the terminal', async () => {
    const { stdin, stderr } = terminal(['s3cret-passX\u007f\r', 's3cret-pass\r']);
    const password = await promptPassword(stdin, stderr, 'New password for alice');
    expect(password.reveal()).toBe('s3cret-pass');
    expect(stderr.text).toBe('New password for alice: \nAgain, to confirm: \n');
    expect(stdin.raw).toEqual([true, false, true, false]);
  });

  it('refuses two different passwords', async () => {
    const { stdin, stderr } = terminal(['one-password\r', 'another-one\r']);
    await expect(promptPassword(stdin, stderr, 'Password')).rejects.toThrow(/differ/);
  });

  it('stops on Ctrl-C, as the signal would: exit 130', async () => {
    const { stdin, stderr } = terminal(['abc\u0003']);
    const err = await promptPassword(stdin, stderr, 'Password').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MasToolError);
    expect((err as MasToolError).message).toBe('Interrupted by SIGINT; no database transaction was open.');
    expect((err as MasToolError).exitCode).toBe(130);
  });

  it('without a terminal, says to use --password-stdin', async () => {
    const err = await promptPassword(Readable.from([]), { write: () => undefined }, 'Password').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MasToolError);
    expect((err as MasToolError).message).toMatch(/--password-stdin/);
    expect((err as MasToolError).exitCode).toBe(2);
  });

  it('reads stdin whole, dropping one trailing newline (LF or CRLF) and keeping other whitespace', async () => {
    expect((await readPasswordFromStdin(Readable.from([Buffer.from(' spaced pass \n')]))).reveal()).toBe(' spaced pass ');
    expect((await readPasswordFromStdin(Readable.from([Buffer.from('windows\r\n')]))).reveal()).toBe('windows');
    await expect(readPasswordFromStdin(Readable.from([Buffer.from('\n')]))).rejects.toThrow(/empty password/);
  });
});
