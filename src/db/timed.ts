// Per-step wall time of a series of queries, for the growth benchmark: a step that grows faster than
// the data shows up under its own name instead of hiding in a command's total.
import type { Queryable, QueryResultLike } from './queryable.js';

export interface StepTiming {
  name: string;
  ms: number;
}

export interface TimedQueryable extends Queryable {
  /** Names the step the following queries count towards. */
  step(name: string): void;
  /** Steps in the order they first ran, each with the summed time of its queries. */
  readonly timings: StepTiming[];
}

export function timeQueries(db: Queryable, firstStep: string): TimedQueryable {
  const timings: StepTiming[] = [];
  let current: StepTiming = { name: firstStep, ms: 0 };
  timings.push(current);
  return {
    timings,
    step(name: string) {
      const existing = timings.find((t) => t.name === name);
      current = existing ?? { name, ms: 0 };
      if (existing === undefined) timings.push(current);
    },
    async query<R extends Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResultLike<R>> {
      const started = performance.now();
      const timing = current;
      try {
        return await db.query<R>(text, values);
      } finally {
        timing.ms += performance.now() - started;
      }
    },
  };
}

/** Times one async step into `timings`. */
export async function timed<T>(timings: StepTiming[], name: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    timings.push({ name, ms: performance.now() - started });
  }
}
