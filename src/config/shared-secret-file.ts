// Whether the file named by matrix_authentication_service.secret_path is ready at cut-over: there,
// and holding what the MAS config has as matrix.secret (compared as Synapse and MAS read them: both
// strip surrounding whitespace). Nothing here prints or returns the secret.
import { existsSync, readFileSync } from 'node:fs';
import { finding, type Finding } from '../report/finding.js';
import type { ParsedMasConfig } from './mas.js';
import { readSecretSource } from './secret-source.js';
import { Secret } from '../secret.js';

export function secretFileFindings(path: string, mas: ParsedMasConfig): Finding[] {
  const source = mas.matrix.secret;
  if (source === undefined) {
    return [
      finding('W_SYNAPSE_AFTER_NO_MAS_SECRET', 'warning', `The MAS config (${mas.files.join(', ')}) has no matrix.secret: Synapse and MAS would share nothing.`, {
        fix: `Set matrix.secret (or matrix.secret_file) in the MAS config (mas-tool config generate makes one), and put the same value in ${path}.`,
      }),
    ];
  }
  const copy =
    source.kind === 'file'
      ? `install -m 0640 -g synapse ${source.path} ${path} (MAS reads the secret from ${source.path})`
      : `write the value of matrix.secret of the MAS config into it, readable by Synapse only (umask 077, no trailing line break needed)`;
  if (!existsSync(path)) {
    return [finding('I_SYNAPSE_AFTER_SECRET_FILE', 'info', `${path} does not exist yet: Synapse will not start until it does.`, { fix: `Create it before restarting Synapse: ${copy}.`, details: { path } })];
  }
  let held: Secret;
  let expected: Secret;
  try {
    held = Secret.fromString(readFileSync(path, 'utf8').trim());
    expected = readSecretSource(source, 'trim');
  } catch {
    return [finding('W_SYNAPSE_AFTER_SECRET_UNREAD', 'warning', `${path} or the MAS secret could not be read here, so they were not compared.`, { fix: 'Run this where both are readable, or check them with `mas-tool doctor --synapse-config ...` (config.shared_secret).', details: { path } })];
  }
  if (held.equals(expected)) return [];
  return [
    finding('W_SYNAPSE_AFTER_SECRET_MISMATCH', 'warning', `${path} does not hold the same value as matrix.secret of the MAS config: Synapse and MAS would refuse each other.`, {
      fix: `Replace its content: ${copy}.`,
      details: { path },
    }),
  ];
}
