// The secrets an operator chose for MAS and Synapse, judged: `syn2mas check` (W_WEAK_SECRET) and
// `doctor` (config.secret_strength) warn about a weak one. A weak secret is easier to guess, and
// mas-tool cannot tell it apart from the ordinary words of its own messages, so it scrubs it only
// from text that comes from outside (see src/secret.ts). Values are never shown: only the key, the
// file and what is weak about it.
//
// Judged: the shared secret on both sides, the password peppers, and the static clients' secrets.
// Not judged: database passwords and secrets issued by others (an SSO provider's client secret, a
// captcha key), which the operator does not choose here.
import { secretWeakness, describeWeakness, MIN_SECRET_LENGTH, type SecretWeakness } from '../secret-strength.js';
import type { Secret } from '../secret.js';
import type { ParsedMasConfig } from './mas.js';
import { readSecretSource, type SecretFileMode, type SecretSource } from './secret-source.js';
import type { ParsedSynapseConfig } from './synapse.js';

export interface NamedSecret {
  key: string;
  file?: string;
  value: Secret;
  /** A pepper cannot change without resetting every password hashed with it. */
  pepper: boolean;
}

export interface WeakSecret {
  key: string;
  file?: string;
  weakness: SecretWeakness;
  pepper: boolean;
}

/** The secrets of both configs; a secret file that cannot be read here is left out (other checks say so). */
export function configSecrets(mas: ParsedMasConfig, synapse: ParsedSynapseConfig | undefined): NamedSecret[] {
  const out: NamedSecret[] = [];
  const add = (source: SecretSource | undefined, mode: SecretFileMode, pepper: boolean): void => {
    if (source === undefined) return;
    try {
      out.push({ key: source.key, ...(source.file !== undefined ? { file: source.file } : {}), value: readSecretSource(source, mode), pepper });
    } catch {
      // Unreadable here (the file lives on the MAS host, say): nothing to judge.
    }
  };
  add(mas.matrix.secret, 'trim', false);
  // MAS reads a scheme's secret_file raw.
  for (const scheme of mas.passwords.schemes) add(scheme.secret, 'raw', true);
  for (const client of mas.clients) add(client.secret, 'trim', false);
  if (synapse !== undefined) {
    add(synapse.mas?.secret, 'trim', false);
    const pepper = synapse.passwordConfig.pepper;
    if (pepper !== undefined && pepper.byteLength > 0) out.push({ key: 'password_config.pepper', file: synapse.files.join(', '), value: pepper, pepper: true });
  }
  return out;
}

export function findWeakSecrets(secrets: readonly NamedSecret[]): WeakSecret[] {
  const weak: WeakSecret[] = [];
  for (const s of secrets) {
    const weakness = secretWeakness(s.value.reveal());
    if (weakness !== undefined) weak.push({ key: s.key, ...(s.file !== undefined ? { file: s.file } : {}), weakness, pepper: s.pepper });
  }
  return weak;
}

/** "matrix.secret (mas.yaml) is shorter than 16 characters; ..." */
export function weakSecretsSentence(weak: readonly WeakSecret[]): string {
  return weak.map((w) => `${w.key}${w.file !== undefined ? ` (${w.file})` : ''} is ${describeWeakness(w.weakness)}`).join('; ');
}

export function weakSecretsFix(weak: readonly WeakSecret[]): string {
  const parts: string[] = [];
  if (weak.some((w) => !w.pepper)) {
    parts.push(
      `Replace ${weak.filter((w) => !w.pepper).map((w) => w.key).join(', ')} with a long random value (\`openssl rand -hex 32\`; at least ${MIN_SECRET_LENGTH} characters, not words), ` +
        'in every place that shares it (MAS matrix.secret and Synapse matrix_authentication_service.secret stay equal), then restart what reads it.',
    );
  }
  if (weak.some((w) => w.pepper)) {
    parts.push('A pepper cannot change without resetting every password hashed with it: keep it, and accept this warning (--accept W_WEAK_SECRET).');
  }
  return parts.join(' ');
}

/** What a weak secret means for mas-tool's output, said once in the finding. */
export const WEAK_SECRET_SCRUBBING =
  'mas-tool scrubs a weak secret only from text that comes from outside (errors of the database or of HTTP peers), never from its own words';
