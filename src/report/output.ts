// The only place that writes to the terminal. Decides on colour once (a TTY, no NO_COLOR, no
// --no-color), scrubs every strong secret from whatever it writes (weak ones are scrubbed where text
// from outside comes in, see src/secret.ts), and makes sure --json puts exactly one JSON document on
// stdout.
import { scrubStrongSecrets } from '../secret.js';
import type { Finding } from './finding.js';

export interface Streams {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Where passwords come from (--password-stdin, or a prompt on a terminal). */
  stdin?: PasswordSource;
}

/** The part of process.stdin that password input uses. */
export interface PasswordSource extends AsyncIterable<Buffer | string> {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  on?(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  removeListener?(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  pause?(): unknown;
  resume?(): unknown;
}

export interface OutputOptions {
  json: boolean;
  debug: boolean;
  /** false when --no-color was given. */
  color: boolean;
}

type Paint = (text: string) => string;

export interface Palette {
  red: Paint;
  yellow: Paint;
  green: Paint;
  bold: Paint;
  dim: Paint;
}

export class Output {
  readonly json: boolean;
  readonly debug: boolean;
  readonly paint: Palette;
  readonly errPaint: Palette;
  #jsonWritten = false;

  constructor(
    private readonly streams: Streams,
    options: OutputOptions,
  ) {
    this.json = options.json;
    this.debug = options.debug;
    this.paint = palette(useColor(streams.stdout.isTTY, streams.env, options.color));
    this.errPaint = palette(useColor(streams.stderr.isTTY, streams.env, options.color));
  }

  /** Human output for stdout; suppressed with --json so the JSON document stays alone. */
  print(text: string): void {
    if (this.json) return;
    this.streams.stdout.write(`${scrubStrongSecrets(text)}\n`);
  }

  /** Raw output that is the product of a command (a generated file on stdout). */
  writeStdout(text: string): void {
    this.streams.stdout.write(text);
  }

  /** Diagnostics, warnings, progress: always stderr, also with --json. */
  note(text: string): void {
    this.streams.stderr.write(`${scrubStrongSecrets(text)}\n`);
  }

  /**
   * The one JSON document of a --json run. `reveal` is the one secret the operator asked for (a token
   * just issued): it goes to stdout under that key instead of being scrubbed like every other.
   */
  writeJson(doc: unknown, reveal?: { key: string; value: string }): void {
    if (this.#jsonWritten) throw new Error('a second JSON document was about to be written');
    this.#jsonWritten = true;
    let text = scrubStrongSecrets(JSON.stringify(doc, null, 2));
    if (reveal !== undefined) {
      const placeholder = `${JSON.stringify(reveal.key)}: null`;
      if (!text.includes(placeholder)) throw new Error(`writeJson: the document has no "${reveal.key}": null to fill`);
      text = text.replace(placeholder, `${JSON.stringify(reveal.key)}: ${JSON.stringify(reveal.value)}`);
    }
    this.streams.stdout.write(`${text}\n`);
  }

  get jsonWritten(): boolean {
    return this.#jsonWritten;
  }

  /** Renders findings on stderr, one line each with the fix below it. */
  findings(list: readonly Finding[]): void {
    const p = this.errPaint;
    for (const f of list) {
      const mark = f.severity === 'error' ? p.red('error') : f.severity === 'warning' ? p.yellow('warning') : p.dim('info');
      this.note(`${mark} ${p.bold(f.code)}: ${f.message}`);
      if (f.fix !== undefined) this.note(`  ${p.dim('fix:')} ${f.fix}`);
    }
  }
}

function useColor(isTTY: boolean | undefined, env: NodeJS.ProcessEnv, allowed: boolean): boolean {
  if (!allowed) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  if (env.TERM === 'dumb') return false;
  return isTTY === true;
}

function palette(on: boolean): Palette {
  const wrap =
    (open: number, close: number): Paint =>
    (text) =>
      on ? `\u001b[${open}m${text}\u001b[${close}m` : text;
  return { red: wrap(31, 39), yellow: wrap(33, 39), green: wrap(32, 39), bold: wrap(1, 22), dim: wrap(2, 22) };
}
