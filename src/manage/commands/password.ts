// Turning a password the operator typed into what the backend stores. On the admin API MAS judges and
// hashes it itself; on the database we do what MAS would: refuse when password login is off, judge
// the complexity against passwords.minimum_complexity (unless told not to), and hash with the scheme
// of the highest version.
import { MasToolError } from '../../errors.js';
import { readSecretSource } from '../../config/secret-source.js';
import { Secret } from '../../secret.js';
import { checkComplexity } from '../complexity.js';
import { hashPassword } from '../password-hash.js';
import type { ManageResult } from '../model.js';
import { applyPlan, capitalise, resolveOneItem, type ManageContext } from './context.js';

export interface PreparedPassword {
  /** The hash (db) or the password itself (api). */
  value: Secret;
  /** The scheme version stored next to the hash (db only). */
  version?: number;
}

export function passwordsDisabledError(ctx: ManageContext): MasToolError {
  return new MasToolError('MAS_TOOL_PASSWORDS_DISABLED', `Password login is disabled in MAS (passwords.enabled: false in ${ctx.mas.files.join(', ')}), so a password would never be used.`, {
    hint: 'Enable passwords in the MAS config, or give the user an upstream link (--upstream / link-upstream) instead.',
  });
}

/** undefined when fine; else why the password is refused, without the password. */
export function complexityProblem(ctx: ManageContext, password: Secret, userInputs: string[]): string | undefined {
  const minimum = ctx.mas.passwords.minimumComplexity;
  const verdict = checkComplexity(password, minimum, userInputs);
  if (verdict.ok) return undefined;
  return `the password is too weak (score ${verdict.score} of 4, passwords.minimum_complexity is ${minimum})${verdict.feedback ? `: ${verdict.feedback}` : ''}; choose a longer one, or pass --ignore-complexity`;
}

export async function preparePassword(ctx: ManageContext, password: Secret): Promise<PreparedPassword> {
  if (ctx.backend.kind === 'api') return { value: password };
  const scheme = ctx.mas.passwords.schemes[0];
  if (scheme === undefined) {
    throw new MasToolError('MAS_TOOL_PASSWORDS_DISABLED', 'The MAS config has no password scheme under passwords.schemes, so MAS could not check a password.', {
      hint: 'Add a scheme (for example `- version: 1\n    algorithm: argon2id`) under passwords.schemes.',
    });
  }
  const pepper = scheme.secret === undefined ? undefined : readSecretSource(scheme.secret, 'raw').revealBytes();
  const hashed = await hashPassword(password, {
    version: scheme.version,
    algorithm: scheme.algorithm,
    ...(scheme.cost !== undefined ? { cost: scheme.cost } : {}),
    ...(pepper !== undefined ? { pepper } : {}),
    unicodeNormalization: scheme.unicodeNormalization,
  });
  return { value: Secret.fromString(hashed.hash), version: hashed.version };
}

export async function setPassword(ctx: ManageContext, input: string, password: Secret, options: { ignoreComplexity: boolean }): Promise<ManageResult> {
  if (!ctx.mas.passwords.enabled && ctx.backend.kind === 'db') throw passwordsDisabledError(ctx);
  return ctx.backend.transaction(async () => {
    const one = await resolveOneItem(ctx, input);
    if ('failed' in one) return applyPlan(ctx, 'set-password', [one.failed], async () => undefined);
    const user = one.user;
    if (ctx.backend.kind === 'db' && !options.ignoreComplexity) {
      const weak = complexityProblem(ctx, password, [user.username]);
      if (weak !== undefined) throw new MasToolError('MAS_TOOL_WEAK_PASSWORD', `${capitalise(weak)}.`, { hint: 'Nothing was changed.' });
    }
    const state = user.deactivatedAt !== null ? ' (the account is deactivated: reactivate it to log in)' : user.lockedAt !== null ? ' (the account is locked: unlock it to log in)' : '';
    const message = `password changed; existing sessions stay signed in${state}`;
    return applyPlan(ctx, 'set-password', [{ subject: user.username, kind: 'change', change: user.id, message }], async () => {
      const prepared = await preparePassword(ctx, password);
      await ctx.backend.setPassword(user.id, prepared.value, {
        ...(prepared.version !== undefined ? { version: prepared.version } : {}),
        ignoreComplexity: options.ignoreComplexity,
      });
    });
  });
}
