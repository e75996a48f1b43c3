// What the syn2mas checks are given. Reading configs and secret files, and connecting, happens in
// check.ts; the check functions only look at these values and the databases.
import type { ParsedMasConfig } from '../../config/mas.js';
import type { ParsedSynapseConfig } from '../../config/synapse.js';
import type { Secret } from '../../secret.js';

export interface ConfigCheckInput {
  synapse: ParsedSynapseConfig;
  mas: ParsedMasConfig;
  /**
   * The pepper of the MAS password scheme with version 1, read as MAS reads it (a secret_file as raw
   * bytes, trailing newline included); undefined when there is no v1 scheme or it has no secret.
   */
  masV1Pepper: Secret | undefined;
  /** Synapse users with a usable local password hash (not NULL, not ''), who need scheme v1 to log in. */
  localPasswordUsers: number;
}
