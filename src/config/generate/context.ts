// What every section of the generated MAS config is given: the options, and where its warnings go.
import type { Finding } from '../../report/finding.js';
import type { Secret } from '../../secret.js';
import type { GeneratedSecrets } from '../keys.js';

export interface GenerateOptions {
  now: Date;
  secrets: GeneratedSecrets;
  /** Synapse's matrix_authentication_service secret, already read from secret_path if needed. */
  sharedSecret?: Secret;
}

export type Warn = (code: string, message: string, fix: string, details?: Record<string, unknown>) => void;

/** Collects a section's findings, in the order the sections run (the order they are printed). */
export interface FindingSink {
  findings: Finding[];
  warn: Warn;
  info: Warn;
}

export function findingSink(): FindingSink {
  const findings: Finding[] = [];
  return {
    findings,
    warn: (code, message, fix, details = {}) => {
      findings.push({ code, severity: 'warning', message, fix, details });
    },
    info: (code, message, fix, details = {}) => {
      findings.push({ code, severity: 'info', message, fix, details });
    },
  };
}
