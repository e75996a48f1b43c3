// The growth guard's verdicts: what `npm run bench -- --growth` (and CI) fails on. Pure logic over
// step timings; the benchmark itself measures them.
import { describe, expect, it } from 'vitest';
import { compareGrowth } from '../../bench/growth.js';

const step = (name: string, ms: number) => ({ command: 'migrate', name, ms });

describe('the growth guard', () => {
  it('flags a step that grows quadratically, as the old session summary did', () => {
    // 75 ms at 5k users, 1.2 s at 20k: 16 times for 4 times the data.
    const [row] = compareGrowth([step('session summary', 75)], [step('session summary', 1200)]);
    expect(row).toMatchObject({ name: 'session summary', flagged: true });
    expect(row?.ratio).toBe(16);
  });

  it('passes linear and n log n steps', () => {
    const rows = compareGrowth([step('devices', 5000), step('rebuild', 7000)], [step('devices', 20000), step('rebuild', 31000)]);
    expect(rows.map((r) => r.flagged)).toEqual([false, false]);
  });

  it('does not judge steps too short to measure, nor noise just past the ratio', () => {
    const rows = compareGrowth(
      [step('commit', 10), step('analyze', 100)],
      // 20 times, but 200 ms; 6.5 times, but only 50 ms more than 6 times.
      [step('commit', 200), step('analyze', 650)],
    );
    expect(rows.map((r) => [r.name, r.flagged])).toEqual([
      ['commit', false],
      ['analyze', false],
    ]);
  });

  it('pairs steps by command and name, and flags a slow step that the small run did not have', () => {
    const rows = compareGrowth(
      [{ command: 'check', name: 'users', ms: 100 }],
      [
        { command: 'verify', name: 'users', ms: 400 },
        { command: 'check', name: 'users', ms: 380 },
      ],
    );
    expect(rows.map((r) => [r.command, r.ratio === Number.POSITIVE_INFINITY ? 'new' : r.ratio, r.flagged])).toEqual([
      ['verify', 'new', true],
      ['check', 3.8, false],
    ]);
  });
});
