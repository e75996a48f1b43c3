// The catalogue of verify's finding codes and entities, and the collector that tallies findings with capped examples.
import type { Severity } from '../../report/finding.js';

/** Severity of each code verify can report, in the order findings are listed. */
export const CODES = {
  E_VERIFY_NOT_MIGRATED: 'error',
  E_VERIFY_USERS_MISSING: 'error',
  E_VERIFY_USERS_UNEXPECTED: 'error',
  E_VERIFY_USER_FLAGS: 'error',
  E_VERIFY_PASSWORDS: 'error',
  E_VERIFY_EMAILS: 'error',
  E_VERIFY_THREEPIDS: 'error',
  E_VERIFY_LINKS: 'error',
  E_VERIFY_SESSIONS: 'error',
  E_VERIFY_ACCESS_TOKENS: 'error',
  E_VERIFY_REFRESH_TOKENS: 'error',
  E_VERIFY_REGISTRATION_TOKENS: 'error',
  I_VERIFY_MAS_IN_USE: 'info',
  I_VERIFY_NEW_USERS: 'info',
  I_VERIFY_USER_STATE_CHANGED: 'info',
  I_VERIFY_DEACTIVATED_LATER: 'info',
  I_VERIFY_PASSWORDS_CHANGED: 'info',
  I_VERIFY_NEW_EMAILS: 'info',
  I_VERIFY_NEW_LINKS: 'info',
  I_VERIFY_LINKS_UNMAPPED: 'info',
  I_VERIFY_NEW_SESSIONS: 'info',
  I_VERIFY_FINISHED_SESSIONS: 'info',
  I_VERIFY_NEW_TOKENS: 'info',
  I_VERIFY_CONSUMED_REFRESH_TOKENS: 'info',
  I_VERIFY_NEW_REGISTRATION_TOKENS: 'info',
  I_VERIFY_REGISTRATION_TOKENS_CHANGED: 'info',
  I_VERIFY_SUMMARY: 'info',
} as const satisfies Record<string, Severity>;
export type Code = keyof typeof CODES;

export const VERIFY_CODES: readonly string[] = Object.keys(CODES);

export const ENTITIES = ['users', 'passwords', 'emails', 'unsupportedThreepids', 'upstreamLinks', 'sessions', 'accessTokens', 'refreshTokens', 'registrationTokens'] as const;
export type Entity = (typeof ENTITIES)[number];
export type Kind = 'missing' | 'unexpected' | 'different';

const MAX_EXAMPLES = 20;

export interface Tally {
  count: number;
  entities: Partial<Record<Entity, number>>;
  kinds: Partial<Record<Kind, number>>;
  examples: string[];
}

export class Collector {
  readonly tallies = new Map<Code, Tally>();

  add(code: Code, entity: Entity, kind: Kind | undefined, example: string): void {
    let t = this.tallies.get(code);
    if (t === undefined) {
      t = { count: 0, entities: {}, kinds: {}, examples: [] };
      this.tallies.set(code, t);
    }
    t.count++;
    t.entities[entity] = (t.entities[entity] ?? 0) + 1;
    if (kind !== undefined) t.kinds[kind] = (t.kinds[kind] ?? 0) + 1;
    if (t.examples.length < MAX_EXAMPLES) t.examples.push(example);
  }
}

export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
