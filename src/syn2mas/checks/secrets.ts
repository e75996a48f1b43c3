// W_WEAK_SECRET: a secret of the MAS config or homeserver.yaml that is short or guessable (see
// src/config/weak-secrets.ts for which are judged, and why mas-tool cares beyond the risk itself).
import type { ParsedMasConfig } from '../../config/mas.js';
import type { ParsedSynapseConfig } from '../../config/synapse.js';
import { configSecrets, findWeakSecrets, WEAK_SECRET_SCRUBBING, weakSecretsFix, weakSecretsSentence } from '../../config/weak-secrets.js';
import { finding, type Finding } from '../../report/finding.js';

export const SECRET_CHECK_CODES = ['W_WEAK_SECRET'] as const;

export function checkSecretStrength(input: { mas: ParsedMasConfig; synapse: ParsedSynapseConfig }): Finding[] {
  const weak = findWeakSecrets(configSecrets(input.mas, input.synapse));
  if (weak.length === 0) return [];
  return [
    finding(
      'W_WEAK_SECRET',
      'warning',
      `${weak.length === 1 ? 'A secret is' : `${weak.length} secrets are`} weak: ${weakSecretsSentence(weak)}. A weak secret is easier to guess, and ${WEAK_SECRET_SCRUBBING}.`,
      {
        fix: weakSecretsFix(weak),
        details: { secrets: weak },
      },
    ),
  ];
}
