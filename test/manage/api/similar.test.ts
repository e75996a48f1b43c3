// The ranking behind the admin API backend's "did you mean": edit distance, and how few searches a
// long name costs.
import { describe, expect, it } from 'vitest';
import { levenshtein, rankBySimilarity, searchPrefixes } from '../../../src/manage/api/similar.js';

describe('similar usernames', () => {
  it('measures edit distance', () => {
    expect(levenshtein('alice', 'alice')).toBe(0);
    expect(levenshtein('alice', 'alise')).toBe(1);
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(levenshtein('', 'abc')).toBe(3);
  });

  it('searches with prefixes about a quarter shorter each time, down to two characters', () => {
    expect(searchPrefixes('alice')).toEqual(['alice', 'alic', 'ali', 'al']);
    expect(searchPrefixes('a')).toEqual(['a']);
    expect(searchPrefixes('x'.repeat(40)).length).toBeLessThanOrEqual(14);
  });

  it('ranks case-insensitively, closest first, then by name, without the name itself', () => {
    expect(rankBySimilarity('Alice', ['alicia', 'alice', 'Alice', 'malice', 'bob'], 3)).toEqual(['alice', 'malice', 'alicia']);
  });
});
