// Samples a ProgressState that core code updates and shows it: on a terminal, one line rewritten in
// place (done / total, rate, ETA); otherwise, for logs, one line every few seconds.
import type { ProgressState } from '../syn2mas/migrate.js';

export interface ProgressWriter {
  write(text: string): unknown;
  isTTY?: boolean;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

export function describeProgress(state: ProgressState, rowsPerSecond: number | undefined): string {
  if (state.stage === 'setup') return 'setting up';
  // After the load each step is one statement without a count: its name is all there is to show.
  if (state.stage === 'finish') return state.phase;
  const total = state.total !== undefined && state.total > 0 ? state.total : undefined;
  const verb = state.verb ?? (state.stage === 'rebuild' ? 'rebuilding' : 'migrating');
  const parts = [`${verb} ${state.phase}: ${fmt(state.done)}${total !== undefined ? ` / ${fmt(total)}` : ''}`];
  if (rowsPerSecond !== undefined && state.stage === 'load') {
    parts.push(`${fmt(Math.round(rowsPerSecond))} ${state.unit ?? 'rows'}/s`);
    if (total !== undefined && rowsPerSecond > 0 && state.done < total) parts.push(`ETA ${Math.ceil((total - state.done) / rowsPerSecond)} s`);
  }
  return parts.join(', ');
}

/** Starts sampling; the returned function stops it and clears the terminal line. */
export function startProgress(state: ProgressState, out: ProgressWriter, options: { intervalMs?: number } = {}): () => void {
  const tty = out.isTTY === true;
  const interval = options.intervalMs ?? (tty ? 250 : 5000);
  let last = { phase: state.phase, done: state.done, at: performance.now() };
  let rate: number | undefined;
  const timer = setInterval(() => {
    const at = performance.now();
    if (state.phase === last.phase && at > last.at) rate = ((state.done - last.done) * 1000) / (at - last.at);
    else rate = undefined;
    last = { phase: state.phase, done: state.done, at };
    const text = describeProgress(state, rate);
    out.write(tty ? `\r\u001b[2K${text}` : `${text}\n`);
  }, interval);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (tty) out.write('\r\u001b[2K');
  };
}
