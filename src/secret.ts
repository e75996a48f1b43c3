// A secret value (password, token, shared secret, pepper) that cannot leak by accident: it prints,
// stringifies and serialises as "[redacted]". Code that really needs the value calls reveal().
// Every secret is also remembered, so that the output layer can scrub it from any text it writes,
// as a second line of defence (an error message from a library may quote a value).
import { inspect } from 'node:util';

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

/** Replaces every secret value mas-tool has seen with "[redacted]". */
export function scrubSecrets(text: string): string {
  let out = text;
  for (const value of known) {
    if (out.includes(value)) out = out.split(value).join(REDACTED);
  }
  return out;
}

/** Also scrub a value that is not wrapped in a Secret (a token read from a database row). */
export function rememberSecret(value: string): void {
  if (value.length >= MIN_SCRUB_LENGTH) known.add(value);
}
