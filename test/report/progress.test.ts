import { describe, expect, it } from 'vitest';
import { describeProgress, startProgress } from '../../src/report/progress.js';
import type { ProgressState } from '../../src/syn2mas/migrate.js';

describe('migration progress', () => {
  it('shows done / total, rate and ETA while loading', () => {
    const state: ProgressState = { stage: 'load', phase: 'users', done: 25_000, total: 100_000 };
    expect(describeProgress(state, 50_000)).toBe('migrating users: 25,000 / 100,000, 50,000 rows/s, ETA 2 s');
    expect(describeProgress({ ...state, total: undefined }, undefined)).toBe('migrating users: 25,000');
    expect(describeProgress({ stage: 'rebuild', phase: 'index users_pkey', done: 3, total: 51 }, undefined)).toBe('rebuilding index users_pkey: 3 / 51');
  });

  it('names other work and its unit when given (manage over the admin API)', () => {
    const state: ProgressState = { stage: 'load', phase: 'admin API requests', done: 1200, total: undefined, verb: 'manage', unit: 'requests' };
    expect(describeProgress(state, 40)).toBe('manage admin API requests: 1,200, 40 requests/s');
  });

  it('rewrites one line on a terminal and clears it at the end', async () => {
    const state: ProgressState = { stage: 'load', phase: 'devices', done: 0, total: 10 };
    let written = '';
    const stop = startProgress(state, { write: (t: string) => (written += t), isTTY: true }, { intervalMs: 5 });
    state.done = 5;
    await new Promise((r) => setTimeout(r, 30));
    stop();
    expect(written).toContain('\r\u001b[2Kmigrating devices: 5 / 10');
    expect(written.endsWith('\r\u001b[2K')).toBe(true);
    expect(written).not.toContain('\n');
  });

  it('writes whole lines, and no control characters, when not on a terminal', async () => {
    const state: ProgressState = { stage: 'load', phase: 'emails', done: 7, total: 9 };
    let written = '';
    const stop = startProgress(state, { write: (t: string) => (written += t), isTTY: false }, { intervalMs: 5 });
    await new Promise((r) => setTimeout(r, 20));
    stop();
    expect(written).toMatch(/^migrating emails: 7 \/ 9/);
    expect(written.endsWith('\n')).toBe(true);
    expect(written).not.toContain('\u001b');
  });
});
