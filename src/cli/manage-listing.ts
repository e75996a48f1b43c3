// `mas-tool manage list-users | show-user | registration-token ...`: reading users, and MAS's
// registration tokens. Declared here, run by the commands in src/manage/commands, rendered by
// src/report/manage.ts through manage-runner.ts.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { RegistrationTokenState, UserFilter } from '../manage/model.js';
import { Secret } from '../secret.js';
import type { CliContext } from './context.js';
import { finish, loadRenderers, manageAction, withManage } from './manage-runner.js';

interface ListUsersFlags {
  admin?: boolean;
  locked?: boolean;
  deactivated?: boolean;
  guest?: boolean;
  search?: string;
  limit: string;
}

interface IssueFlags {
  token?: string;
  uses?: string;
  unlimited?: boolean;
  expires?: string;
}

const STATES: readonly RegistrationTokenState[] = ['usable', 'used-up', 'expired', 'revoked'];

function parseLimit(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new UsageError(`--limit ${text}: give how many users to list, 1 or more.`, { hint: 'For example --limit 500.' });
  return Number(text);
}

export function registerListingCommands(manage: Command, ctx: CliContext): void {
  manage
    .command('list-users')
    .description('list users with their addresses and active sessions, oldest first (filters combine)')
    .option('--admin', 'only users who may request admin rights')
    .option('--locked', 'only locked users')
    .option('--deactivated', 'only deactivated users')
    .option('--guest', 'only guests carried from Synapse')
    .option('--search <text>', 'only users whose username or an address contains TEXT (any case)')
    .option('--limit <n>', 'list at most N users', '100')
    .action(
      manageAction<[ListUsersFlags]>(ctx, {}, async (m, flags) => {
        const { listUsers } = await import('../manage/commands/users.js');
        const filter: UserFilter = {
          ...(flags.admin ? { admin: true } : {}),
          ...(flags.locked ? { locked: true } : {}),
          ...(flags.deactivated ? { deactivated: true } : {}),
          ...(flags.guest ? { guest: true } : {}),
        };
        if (flags.search !== undefined) {
          if (flags.search.trim() === '') throw new UsageError('--search needs some text to look for.');
          filter.search = flags.search.trim();
        }
        return listUsers(m, filter, parseLimit(flags.limit));
      }),
    );

  manage
    .command('show-user')
    .description("one user: state, admin rights, addresses, upstream links, and sessions (device, last seen, IP, Synapse admin)")
    .argument('<user>', 'alice, @alice:server or a MAS user id')
    .option('--all-sessions', 'also the finished sessions')
    .action(
      manageAction<[string, { allSessions?: boolean }]>(ctx, {}, async (m, user, flags) => {
        const { showUser } = await import('../manage/commands/users.js');
        return showUser(m, user, { allSessions: flags.allSessions === true });
      }),
    );

  const tokens = manage
    .command('registration-token')
    .description('registration tokens: invite codes that let someone register (MAS asks for one when account.password_registration_token_required is set)');

  tokens
    .command('list')
    .description('every token with its state (usable, used-up, expired, revoked); the tokens themselves are not shown')
    .option('--state <state>', `only tokens in this state: ${STATES.join(', ')}`)
    .action(
      manageAction<[{ state?: string }]>(ctx, {}, async (m, flags) => {
        const { listRegistrationTokens } = await import('../manage/commands/registration-tokens.js');
        const state = flags.state as RegistrationTokenState | undefined;
        if (state !== undefined && !STATES.includes(state)) throw new UsageError(`--state ${flags.state}: choose ${STATES.join(', ')}.`);
        return listRegistrationTokens(m, state !== undefined ? { state } : {});
      }),
    );

  tokens
    .command('issue')
    .description('make a token and print it, once, alone on stdout (in --json: the token key)')
    .option('--token <text>', 'the token itself (default: 12 random letters and digits)')
    .option('--uses <n>', 'how many registrations it allows (default 1, as mas-cli)')
    .option('--unlimited', 'no limit on the registrations')
    .option('--expires <when>', 'when it stops working: a date (until the end of that day, UTC), a date and time with its zone, or a duration (7d, 12h)')
    .action(async (flags: IssueFlags, cmd: Command) => {
      const out = ctx.output(cmd);
      const { parseExpires, parseUses, tokenProblem } = await import('../manage/registration-token-rules.js');
      if (flags.unlimited && flags.uses !== undefined) throw new UsageError('Give --uses N or --unlimited, not both.', { hint: 'Without either, a token allows one registration.' });
      const usageLimit = flags.unlimited ? null : flags.uses !== undefined ? parseUses(flags.uses) : 1;
      const expiresAt = flags.expires !== undefined ? parseExpires(flags.expires, new Date()) : null;
      let token: Secret | undefined;
      if (flags.token !== undefined) {
        token = Secret.fromString(flags.token);
        const problem = tokenProblem(flags.token);
        if (problem !== undefined) throw new UsageError(`--token: ${problem}.`, { hint: 'Or leave --token out: mas-tool then makes one up.' });
      }
      await loadRenderers();
      const { issueRegistrationToken } = await import('../manage/commands/registration-tokens.js');
      const issued = await withManage(ctx, cmd, {}, (m) => issueRegistrationToken(m, { usageLimit, expiresAt, ...(token !== undefined ? { token } : {}) }));
      // Only the token goes to stdout, and only when there is one (a dry run or a refusal prints none).
      finish(ctx, out, issued.result, issued.token, { stdoutOnlyForToken: true });
    });

  for (const revoke of [true, false]) {
    tokens
      .command(revoke ? 'revoke' : 'unrevoke')
      .description(revoke ? 'stop tokens from working (by id, or by the token itself)' : 'let revoked tokens work again (within their uses and expiry)')
      .argument('<tokens...>', 'token ids (from list), or the tokens themselves')
      .action(
        manageAction<[string[]]>(ctx, {}, async (m, refs) => {
          const { setTokensRevoked } = await import('../manage/commands/registration-tokens.js');
          return setTokensRevoked(m, refs, revoke);
        }),
      );
  }
}
