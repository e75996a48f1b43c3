// The secrets of the configs: present where MAS needs them, and strong.
//   - E_MAS_SECRETS_MISSING: MAS will not start without its `secrets` section, the encryption key
//     (`encryption` or `encryption_file`) and signing keys (`keys` or `keys_dir`).
//   - E_MAS_MATRIX_SECRET_MISSING: nor without `matrix.secret` or `matrix.secret_file`, the secret it
//     shares with Synapse.
//   - W_WEAK_SECRET: a secret that is short or guessable (see src/config/weak-secrets.ts for which
//     are judged, and why mas-tool cares beyond the risk itself).
import type { ParsedMasConfig } from '../../config/mas.js';
import type { ParsedSynapseConfig } from '../../config/synapse.js';
import { configSecrets, findWeakSecrets, WEAK_SECRET_SCRUBBING, weakSecretsFix, weakSecretsSentence } from '../../config/weak-secrets.js';
import { finding, type Finding } from '../../report/finding.js';

export const SECRET_CHECK_CODES = ['E_MAS_SECRETS_MISSING', 'E_MAS_MATRIX_SECRET_MISSING', 'W_WEAK_SECRET'] as const;

/**
 * `judgeStrength: false` leaves out W_WEAK_SECRET: the cut-over's check, whose time is downtime, does
 * not load zxcvbn's dictionaries (a quarter of a second); every --stage and `syn2mas check` judge them.
 */
export function checkSecrets(input: { mas: ParsedMasConfig; synapse: ParsedSynapseConfig; judgeStrength?: boolean }): Finding[] {
  const { mas, synapse } = input;
  const masFiles = mas.files.length === 0 ? 'the MAS config' : mas.files.join(', ');
  const out: Finding[] = [];

  const missing = [
    ...(mas.secrets === undefined ? ['the secrets section'] : []),
    ...(mas.secrets !== undefined && !mas.secrets.hasEncryption ? ['secrets.encryption (or encryption_file)'] : []),
    ...(mas.secrets !== undefined && mas.secrets.keyCount === 0 && !mas.secrets.hasKeysDir ? ['secrets.keys (or keys_dir)'] : []),
  ];
  if (missing.length > 0) {
    out.push(
      finding('E_MAS_SECRETS_MISSING', 'error', `${masFiles} lacks ${missing.join(' and ')}: MAS will not start without its encryption key and signing keys.`, {
        fix:
          'Copy the secrets section of a freshly generated config (`mas-tool config generate` or `mas-cli config generate`): a 32-byte hex encryption key and at least one RSA key. ' +
          'Never change the encryption key of a MAS that has already run: it encrypts what MAS stored.',
        details: { missing },
      }),
    );
  }

  if (mas.matrix.secret === undefined) {
    const synapseHasOne = synapse.mas?.secret !== undefined;
    out.push(
      finding('E_MAS_MATRIX_SECRET_MISSING', 'error', `${masFiles} has neither matrix.secret nor matrix.secret_file: MAS will not start without the secret it shares with Synapse.`, {
        fix: synapseHasOne
          ? `Set matrix.secret (or secret_file) to the value of Synapse's ${synapse.mas?.secret?.key ?? 'matrix_authentication_service.secret'}; the two must be equal.`
          : 'Generate one (`openssl rand -hex 32`), set it as matrix.secret (or secret_file) in MAS and as matrix_authentication_service.secret (or secret_path) in Synapse.',
        details: { yaml: 'matrix:\n  secret_file: /etc/mas/synapse-shared-secret\n' },
      }),
    );
  }

  const weak = input.judgeStrength === false ? [] : findWeakSecrets(configSecrets(mas, synapse));
  if (weak.length > 0) {
    out.push(
      finding(
        'W_WEAK_SECRET',
        'warning',
        `${weak.length === 1 ? 'A secret is' : `${weak.length} secrets are`} weak: ${weakSecretsSentence(weak)}. A weak secret is easier to guess, and ${WEAK_SECRET_SCRUBBING}.`,
        { fix: weakSecretsFix(weak), details: { secrets: weak } },
      ),
    );
  }
  return out;
}
