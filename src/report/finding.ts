// A finding is data: produced by core code (checks, doctor, config generation), rendered by the
// report module as human lines or JSON. Codes are stable; scripts match on them.
export type Severity = 'error' | 'warning' | 'info';

export interface Finding {
  code: string;
  severity: Severity;
  /** One line saying what is wrong. */
  message: string;
  /** What to do about it. */
  fix?: string;
  details?: Record<string, unknown>;
}

export function finding(code: string, severity: Severity, message: string, extra: { fix?: string; details?: Record<string, unknown> } = {}): Finding {
  return { code, severity, message, ...extra };
}
