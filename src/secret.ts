// A secret value (password, token, shared secret, pepper) that cannot leak by accident: it prints,
// stringifies and serialises as "[redacted]". Code that really needs the value calls reveal().
// Every secret is also remembered, so that its value can be scrubbed from text as a second line of
// defence (an error message from a library may quote a value). Scrubbing replaces whole values,
// never a part of a word, and only where a value can appear: text from outside (driver and library
// errors, HTTP answers, stack traces) is scrubbed of every secret (scrubSecrets, by the code that
// takes it in); everything written is scrubbed of the strong ones (scrubStrongSecrets, by the
// output layer). A weak secret ("database", "PEPPER") is left alone in mas-tool's own text, where
// it is an ordinary word ("Synapse database", E_PASSWORD_PEPPER_MISMATCH), not the secret; the
// weak-secret findings ask for a stronger one.
import { inspect } from 'node:util';
import { secretWeakness } from './secret-strength.js';

const REDACTED = '[redacted]';
const known = new Set<string>();

// Shorter values would scrub ordinary words out of messages; no real secret is that short.
const MIN_SCRUB_LENGTH = 4;

export class Secret {
  readonly #bytes: Buffer;

  private constructor(bytes: Buffer) {
    this.#bytes = bytes;
    const text = bytes.toString('utf8');
    const trimmed = text.trim();
    if (trimmed.length >= MIN_SCRUB_LENGTH) known.add(trimmed);
    if (text !== trimmed && text.length >= MIN_SCRUB_LENGTH) known.add(text);
  }

  static fromString(value: string): Secret {
    return new Secret(Buffer.from(value, 'utf8'));
  }

  static fromBytes(value: Buffer): Secret {
    return new Secret(Buffer.from(value));
  }

  reveal(): string {
    return this.#bytes.toString('utf8');
  }

  revealBytes(): Buffer {
    return Buffer.from(this.#bytes);
  }

  /** Constant-time comparison of the raw bytes. */
  equals(other: Secret): boolean {
    const a = this.#bytes;
    const b = other.#bytes;
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
    return diff === 0;
  }

  get byteLength(): number {
    return this.#bytes.length;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

/**
 * For text that comes from outside mas-tool: replaces every secret value it holds with "[redacted]".
 * A strong value is replaced wherever it occurs; a weak one only where it stands whole, not inside
 * a longer word or code.
 */
export function scrubSecrets(text: string): string {
  let out = text;
  for (const value of known) {
    if (!out.includes(value)) continue;
    out = isStrong(value) ? out.split(value).join(REDACTED) : replaceWhole(out, value);
  }
  return out;
}

/**
 * For everything mas-tool writes (the output layer): replaces the strong secrets, which cannot be
 * mistaken for mas-tool's own words, wherever they occur.
 */
export function scrubStrongSecrets(text: string): string {
  let out = text;
  for (const value of known) {
    if (out.includes(value) && isStrong(value)) out = out.split(value).join(REDACTED);
  }
  return out;
}

/** Also scrub a value that is not wrapped in a Secret (a token read from a database row). */
export function rememberSecret(value: string): void {
  if (value.length >= MIN_SCRUB_LENGTH) known.add(value);
}

const strength = new Map<string, boolean>();

/** Judged once per value, and only for values that occur in some text (zxcvbn loads on first use). */
function isStrong(value: string): boolean {
  let strong = strength.get(value);
  if (strong === undefined) {
    strong = secretWeakness(value) === undefined;
    strength.set(value, strong);
  }
  return strong;
}

const WORD = /[\p{L}\p{N}_]/u;

/** Replaces the occurrences of `value` that are not part of a longer word (letters, digits, `_`). */
function replaceWhole(text: string, value: string): string {
  const checkBefore = WORD.test(value[0] ?? '');
  const checkAfter = WORD.test(value.at(-1) ?? '');
  let out = '';
  let from = 0;
  let at = text.indexOf(value);
  while (at !== -1) {
    const before = text[at - 1];
    const after = text[at + value.length];
    const whole = !(checkBefore && before !== undefined && WORD.test(before)) && !(checkAfter && after !== undefined && WORD.test(after));
    if (whole) {
      out += text.slice(from, at) + REDACTED;
      from = at + value.length;
    }
    at = text.indexOf(value, whole ? at + value.length : at + 1);
  }
  return out + text.slice(from);
}
