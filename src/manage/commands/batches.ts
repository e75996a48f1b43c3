// Bulk manage in bounded memory. A bulk command (a --from-file of any length, restore-admins) takes
// its input as a stream of batches and runs its plan batch after batch: each batch is looked up,
// decided and written as one unit (one transaction on the database, with a fixed number of
// statements), its results go to the context's sink at once (the CLI prints them), and only the
// counts are kept. What a batch holds is all or nothing: when an item of a batch fails, nothing of
// that batch is written, and nothing of any later batch either (they are still looked up and
// decided, so that one run lists every failure); the batches before it stay written. A second run,
// once the failed lines are fixed, reports those as unchanged.
import type { ItemResult, ManageResult, ManageSummary } from '../model.js';
import { itemOf, type Decision, type ManageContext } from './context.js';

/**
 * Items per batch: big enough that a batch's fixed statements cost little per item (and that any
 * input up to this size is all or nothing as a whole), small enough that a batch's rows, decisions
 * and results stay a few megabytes.
 */
export const BATCH_SIZE = 1000;

/** A command's input: a list in memory (split into batches here), or batches read as needed. */
export type BulkInput<T> = readonly T[] | AsyncIterable<readonly T[]>;

export async function* batchesOf<T>(input: BulkInput<T>, size = BATCH_SIZE): AsyncGenerator<readonly T[]> {
  if (!isList(input)) {
    yield* input;
    return;
  }
  for (let i = 0; i < input.length; i += size) yield input.slice(i, i + size);
}

function isList<T>(input: BulkInput<T>): input is readonly T[] {
  return Array.isArray(input);
}

/** The same batches with each item mapped (one file row may give several items, or none). */
export async function* mapBatches<A, B>(input: AsyncIterable<readonly A[]>, map: (a: A) => B | B[]): AsyncGenerator<B[]> {
  for await (const batch of input) yield batch.flatMap((a) => map(a));
}

function count(summary: ManageSummary, item: ItemResult): void {
  if (item.status === 'changed') summary.changed++;
  else if (item.status === 'unchanged') summary.unchanged++;
  else if (item.status === 'would-change') summary.wouldChange++;
  else summary.failed++;
}

/**
 * Runs `plan` and `write` batch after batch. `plan` reads what MAS holds for one batch and decides
 * each item; `write` makes the changes of a batch in which nothing failed.
 */
export async function runBatches<I, T>(
  ctx: ManageContext,
  command: string,
  input: BulkInput<I>,
  plan: (batch: readonly I[]) => Promise<Array<Decision<T>>>,
  write: (changes: T[]) => Promise<void>,
): Promise<ManageResult> {
  const summary: ManageSummary = { changed: 0, unchanged: 0, wouldChange: 0, failed: 0 };
  const collected: ItemResult[] = [];
  const sink = ctx.sink;
  sink?.begin({ command, backend: ctx.backend.kind, dryRun: ctx.dryRun });
  let stopped = false;
  let total = 0;
  for await (const batch of batchesOf(input, ctx.batchSize ?? BATCH_SIZE)) {
    if (batch.length === 0) continue;
    const items = await ctx.backend.transaction(async () => {
      const decisions = await plan(batch);
      const failed = decisions.some((d) => d.kind === 'failed');
      const changes = decisions.flatMap((d) => (d.kind === 'change' ? [d.change] : []));
      const applying = !stopped && !failed && !ctx.dryRun && changes.length > 0;
      if (failed) stopped = true;
      if (applying) await write(changes);
      return decisions.map((d) => itemOf(d, applying));
    });
    total += items.length;
    for (const item of items) count(summary, item);
    if (sink !== undefined) sink.items(items);
    else collected.push(...items);
  }
  const result: ManageResult = { command, backend: ctx.backend.kind, dryRun: ctx.dryRun, items: collected, summary, itemsStreamed: sink !== undefined };
  if (summary.failed > 0) result.aborted = `${summary.failed} of ${total} item${total === 1 ? '' : 's'} failed`;
  return result;
}
