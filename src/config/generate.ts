// PLACEHOLDER: being written (see generateMasConfig contract below).
import type { Finding } from '../report/finding.js';
import type { Secret } from '../secret.js';
import type { GeneratedSecrets } from './keys.js';
import type { ParsedSynapseConfig } from './synapse.js';

export interface GenerateOptions {
  now: Date;
  secrets: GeneratedSecrets;
  /** Synapse's matrix_authentication_service secret, already read from secret_path if needed. */
  sharedSecret?: Secret;
}

export interface GeneratedMasConfig {
  /** The config as data (secrets as plain strings: it is the product). */
  document: Record<string, unknown>;
  yaml: string;
  /** Warnings for what could not be carried over. */
  findings: Finding[];
}

export function generateMasConfig(_synapse: ParsedSynapseConfig, _options: GenerateOptions): GeneratedMasConfig {
  throw new Error('not written yet');
}
