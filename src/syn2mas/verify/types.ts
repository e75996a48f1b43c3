// The public result and option types of `syn2mas verify`, shared by the orchestrator and the report.
import type { StepTiming } from '../../db/timed.js';
import type { Finding } from '../../report/finding.js';

export interface VerifyCount {
  /** Rows the migration writes for the current Synapse data. */
  expected: number;
  /** Rows MAS holds (passwords: users with at least one password row). */
  found: number;
  /** Expected rows MAS does not have (explained ones included). */
  missing: number;
  /** MAS rows nothing in Synapse accounts for (new activity included). */
  unexpected: number;
  /** Rows on both sides whose compared values differ (explained ones included). */
  different: number;
}

export interface VerifyReport {
  findings: Finding[];
  /** Raw set comparison per entity; the findings say which differences are errors. */
  counts: Record<string, VerifyCount>;
  /** 0 consistent (info only), 10 at least one error. */
  exitCode: 0 | 10;
  /** Wall time per comparison step, for the growth benchmark. */
  timings: StepTiming[];
}

export interface VerifyOptions {
  /** Synapse IdP id to MAS provider ULID, as CheckReport.providerMapping. */
  providerMapping: ReadonlyMap<string, string>;
}
