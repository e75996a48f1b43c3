import { describe, expect, it } from 'vitest';
import { timestamptzText } from '../../src/syn2mas/timestamps.js';

describe('timestamptzText', () => {
  it('writes UTC timestamps PostgreSQL reads back exactly', () => {
    expect(timestamptzText(1530393962000)).toBe('2018-06-30 21:26:02.000+00');
    expect(timestamptzText(0)).toBe('1970-01-01 00:00:00.000+00');
    expect(timestamptzText(1623366000123)).toBe('2021-06-10 23:00:00.123+00');
    expect(timestamptzText(951782400000)).toBe('2000-02-29 00:00:00.000+00');
  });

  it('agrees with Date#toISOString over a wide range', () => {
    for (let ms = -2208988800000; ms < 4102444800000; ms += 86_400_000 * 13 + 3_723_456) {
      const iso = new Date(ms).toISOString();
      expect(timestamptzText(ms)).toBe(`${iso.slice(0, 10)} ${iso.slice(11, 23)}+00`);
    }
  });
});
