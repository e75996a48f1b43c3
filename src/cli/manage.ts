// `mas-tool manage ...`: operator commands after the migration. This file declares the subcommands and
// their flags; src/cli/manage-runner.ts opens the backend (the MAS admin API or the MAS database) and
// renders; the commands themselves are in src/manage/commands; list-users, show-user and
// registration-token are declared in manage-listing.ts. Exit codes: 0 done (or already so), 10 an
// item failed (nothing of its batch, or of any batch after it, was written), 1 could not run, 2 usage.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { ManageContext } from '../manage/commands/context.js';
import type { DatabaseOnlyBackend } from '../manage/backend.js';
import type { ManageResult } from '../manage/model.js';
import type { Secret } from '../secret.js';
import type { CliContext } from './context.js';
import { addMasConfigOption, addSynapseConfigOption, addSynapseDatabaseUriOption, collect } from './options.js';
import { registerListingCommands } from './manage-listing.js';
import { fileInput, finish, loadRenderers, manageAction, readPassword, readSynapse, truthy, usersFrom, withManage, withSynapseAdmins, type Needs, type SynapseFlags } from './manage-runner.js';
export function registerManageCommands(program: Command, ctx: CliContext): void {
  const manage = program
    .command('manage')
    .description('Operator commands after migration: users, emails, admins, sessions, registration tokens (over the MAS admin API or the MAS database)')
    .option('--via <backend>', 'api (the MAS admin API; default when the MAS config has an admin client) or db (the MAS database)')
    .option('--admin-api-url <url>', 'the admin API base (default: http.public_base + api/admin/v1)')
    .option('--dry-run', 'say what would change, change nothing')
    .option('--timeout <seconds>', 'per-request timeout for the admin API and the homeserver', '10')
    .option('--ca-file <pem>', 'also trust the CAs in this PEM file (a private CA)');
  addMasConfigOption(manage);
  manage.configureHelp({ showGlobalOptions: true });

  const action = <A extends unknown[]>(needs: Needs, run: (m: ManageContext, ...args: A) => Promise<ManageResult>, before?: (...args: A) => Promise<void>) =>
    manageAction(ctx, needs, run, before);
  let password: Secret | undefined;

  manage
    .command('register-user')
    .description('create a MAS user (the homeserver is asked whether the name is free; the MAS worker creates it there)')
    .argument('[username]', 'localpart (or @localpart:server)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--password-prompt', 'ask for the password on the terminal')
    .option('--email <address>', 'an email address (repeatable)', collect)
    .option('--admin', 'allow the user to request admin rights')
    .option('--display-name <name>', 'display name on the homeserver')
    .option('--upstream <provider:subject>', 'link to an upstream (SSO) account; provider by id, synapse_idp_id or name (repeatable)', collect)
    .option('--skip-homeserver-check', 'do not ask the homeserver whether the name is free (to adopt a Synapse-only account)')
    .option('--if-not-exists', 'an existing user is not an error (reported as unchanged)')
    .option('--ignore-complexity', 'accept a password below passwords.minimum_complexity')
    .option('--from-file <file>', 'register many: CSV with columns user, email (a;b), display_name, admin, provider, subject')
    .action(
      action<[string | undefined, RegisterFlags]>({}, async (m, username, flags) => {
        const { registerUsers } = await import('../manage/commands/register.js');
        const options = { skipHomeserverCheck: flags.skipHomeserverCheck === true, ifNotExists: flags.ifNotExists === true, ignoreComplexity: flags.ignoreComplexity === true };
        if (flags.fromFile !== undefined) {
          if (username !== undefined) throw new UsageError('Give a username or --from-file, not both.');
          if (flags.passwordStdin || flags.passwordPrompt) throw new UsageError('Bulk registration sets no passwords; users log in through an upstream provider or set one later (set-password).');
          const { splitList } = await import('../manage/input-file.js');
          const rows = await fileInput(flags.fromFile, { required: ['user'], optional: ['email', 'display_name', 'admin', 'provider', 'subject'] }, (r) => ({
            username: r.user!,
            emails: splitList(r.email),
            admin: truthy(r.admin),
            upstream: r.provider !== undefined && r.subject !== undefined ? [`${r.provider}:${r.subject}`] : [],
            ...(r.display_name !== undefined ? { displayName: r.display_name } : {}),
          }));
          return registerUsers(m, rows, options);
        }
        if (username === undefined) throw new UsageError('Name the user to register, or give --from-file.');
        return registerUsers(
          m,
          [{ username, emails: flags.email ?? [], admin: flags.admin === true, upstream: flags.upstream ?? [], ...(flags.displayName !== undefined ? { displayName: flags.displayName } : {}), ...(password ? { password } : {}) }],
          options,
        );
      },
      async (username, flags) => {
        if (flags.fromFile !== undefined || username === undefined) return;
        if (flags.passwordStdin && flags.passwordPrompt) throw new UsageError('Choose --password-stdin or --password-prompt, not both.');
        if (flags.passwordStdin || flags.passwordPrompt) password = await readPassword(ctx, flags.passwordStdin, `Password for ${username}`);
      }),
    );

  const emailCommand = (name: string, description: string, bulk: boolean, run: 'add' | 'remove') => {
    const c = manage.command(name).description(description).argument('[user]').argument('[email]');
    if (bulk) c.option('--from-file <file>', 'CSV with columns user, email');
    c.action(
      action<[string | undefined, string | undefined, { fromFile?: string }]>({}, async (m, user, email, flags) => {
        const commands = await import('../manage/commands/emails.js');
        if (flags.fromFile !== undefined) {
          if (user !== undefined) throw new UsageError('Give USER EMAIL or --from-file, not both.');
          const { splitList } = await import('../manage/input-file.js');
          const rows = await fileInput(flags.fromFile, { required: ['user', 'email'] }, (r) => splitList(r.email).map((e) => ({ user: r.user!, email: e })));
          return commands.addEmails(m, rows, name);
        }
        if (user === undefined || email === undefined) throw new UsageError(`${name} needs USER and EMAIL.`);
        return run === 'add' ? commands.addEmails(m, [{ user, email }], name) : commands.removeEmails(m, [{ user, email }]);
      }),
    );
  };
  emailCommand('add-email', "add a confirmed email address to a user (and to the user's homeserver account)", true, 'add');
  emailCommand('verify-email', 'the same as add-email: MAS only keeps confirmed addresses', true, 'add');
  emailCommand('remove-email', 'remove an email address from a user', false, 'remove');

  for (const admin of [true, false]) {
    manage
      .command(admin ? 'set-admin' : 'unset-admin')
      .description(admin ? 'allow users to request admin rights (can_request_admin)' : 'stop users from requesting admin rights')
      .argument('[users...]')
      .option('--from-file <file>', 'users, one per line (or CSV with a user column)')
      .action(
        action<[string[], { fromFile?: string }]>({}, async (m, users, flags) => {
          const { setAdmin } = await import('../manage/commands/account.js');
          return setAdmin(m, await usersFrom(users, flags.fromFile), admin);
        }),
      );
  }

  const listAdmins = manage.command('list-admins').description("who may request admin rights: MAS's flag, policy.data.admin_users, and with --synapse-config Synapse's admins and the differences");
  addSynapseConfigOption(listAdmins, false);
  addSynapseDatabaseUriOption(listAdmins);
  listAdmins.action(
    action<[SynapseFlags]>({}, async (m, flags) => {
      const { listAdmins: list } = await import('../manage/commands/admins.js');
      const synapse = flags.synapseConfig !== undefined || flags.synapseDatabaseUri !== undefined ? await readSynapse(ctx, flags, m.serverName) : undefined;
      return list(m, synapse);
    }),
  );

  const restore = manage.command('restore-admins').description("give can_request_admin to every user who is an admin in Synapse's database (repairs migrations that lost it)");
  addSynapseConfigOption(restore, true);
  addSynapseDatabaseUriOption(restore);
  restore.action(
    action<[SynapseFlags]>({}, async (m, flags) => {
      const { restoreAdmins } = await import('../manage/commands/admins.js');
      return withSynapseAdmins(ctx, flags, m.serverName, (admins) => restoreAdmins(m, admins));
    }),
  );

  manage
    .command('set-password')
    .description('set a new password (asked on the terminal, or read with --password-stdin)')
    .argument('<user>')
    .option('--password-stdin', 'read the password from standard input')
    .option('--ignore-complexity', 'accept a password below passwords.minimum_complexity')
    .action(
      action<[string, { passwordStdin?: boolean; ignoreComplexity?: boolean }]>(
        {},
        async (m, user, flags) => {
          const { setPassword } = await import('../manage/commands/password.js');
          if (password === undefined) throw new Error('set-password: the password was not read');
          return setPassword(m, user, password, { ignoreComplexity: flags.ignoreComplexity === true });
        },
        async (user, flags) => {
          password = await readPassword(ctx, flags.passwordStdin, `New password for ${user}`);
        },
      ),
    );

  manage
    .command('lock')
    .description('lock users: their sessions stop working, the homeserver is told')
    .argument('[users...]')
    .option('--deactivate', 'also deactivate them (on the homeserver too; nothing is erased)')
    .option('--from-file <file>', 'users, one per line (or CSV with a user column)')
    .action(
      action<[string[], { deactivate?: boolean; fromFile?: string }]>({}, async (m, users, flags) => {
        const { lock } = await import('../manage/commands/account.js');
        return lock(m, await usersFrom(users, flags.fromFile), { deactivate: flags.deactivate === true });
      }),
    );

  manage
    .command('unlock')
    .description('unlock users')
    .argument('[users...]')
    .option('--reactivate', 'also reactivate deactivated users (and unlock them, unlike mas-cli)')
    .option('--from-file <file>', 'users, one per line (or CSV with a user column)')
    .action(
      action<[string[], { reactivate?: boolean; fromFile?: string }]>({}, async (m, users, flags) => {
        const { unlock } = await import('../manage/commands/account.js');
        return unlock(m, await usersFrom(users, flags.fromFile), { reactivate: flags.reactivate === true });
      }),
    );

  manage
    .command('deactivate')
    .description('deactivate users: sessions end, emails go, the homeserver account is deactivated')
    .argument('<users...>')
    .option('--erase', 'also erase them on the homeserver (GDPR erasure)')
    .action(
      action<[string[], { erase?: boolean }]>({}, async (m, users, flags) => {
        const { deactivate } = await import('../manage/commands/account.js');
        return deactivate(m, users, { erase: flags.erase === true });
      }),
    );

  manage
    .command('reactivate')
    .description('reactivate deactivated users (they stay locked if locked: see unlock --reactivate)')
    .argument('<users...>')
    .action(
      action<[string[]]>({}, async (m, users) => {
        const { reactivate } = await import('../manage/commands/account.js');
        return reactivate(m, users);
      }),
    );

  manage
    .command('kill-sessions')
    .description("end all of a user's sessions (compatibility, OAuth 2.0, browser); Synapse then drops the devices")
    .argument('<user>')
    .action(
      action<[string]>({}, async (m, user) => {
        const { killSessions } = await import('../manage/commands/sessions.js');
        return killSessions(m, user);
      }),
    );

  manage
    .command('issue-compat-token')
    .description('issue a never-expiring compatibility access token (printed alone on stdout); needs the MAS database')
    .argument('<user>')
    .option('--device-id <id>', 'the device to create (default: a random one)')
    .option('--synapse-admin', 'make it a Synapse admin token (needs --yes-i-want-to-grant-synapse-admin-privileges)')
    .option('--yes-i-want-to-grant-synapse-admin-privileges', 'confirm --synapse-admin')
    .action(async (user: string, flags: { deviceId?: string; synapseAdmin?: boolean; yesIWantToGrantSynapseAdminPrivileges?: boolean }, cmd: Command) => {
      const out = ctx.output(cmd);
      if (flags.synapseAdmin && !flags.yesIWantToGrantSynapseAdminPrivileges) {
        throw new UsageError('--synapse-admin gives the token full control of the homeserver; confirm with --yes-i-want-to-grant-synapse-admin-privileges.');
      }
      await loadRenderers();
      const { issueCompatToken } = await import('../manage/commands/sessions.js');
      const issued = await withManage(ctx, cmd, { dbOnly: true }, (m) =>
        issueCompatToken(m as ManageContext & { backend: DatabaseOnlyBackend }, user, { synapseAdmin: flags.synapseAdmin === true, ...(flags.deviceId !== undefined ? { deviceId: flags.deviceId } : {}) }),
      );
      finish(ctx, out, issued.result, issued.token);
    });

  manage
    .command('link-upstream')
    .description('link a user to an upstream (SSO) account, so their first SSO login lands in this account')
    .argument('[user]')
    .argument('[provider]', 'provider id, synapse_idp_id or name')
    .argument('[subject]', "the user's subject (sub) at the provider")
    .option('--from-file <file>', 'CSV with columns user, provider, subject')
    .action(
      action<[string | undefined, string | undefined, string | undefined, { fromFile?: string }]>({}, async (m, user, provider, subject, flags) => {
        const { linkUpstream } = await import('../manage/commands/links.js');
        if (flags.fromFile !== undefined) {
          if (user !== undefined) throw new UsageError('Give USER PROVIDER SUBJECT or --from-file, not both.');
          const rows = await fileInput(flags.fromFile, { required: ['user', 'provider', 'subject'] }, (r) => ({ user: r.user!, provider: r.provider!, subject: r.subject! }));
          return linkUpstream(m, rows);
        }
        if (user === undefined || provider === undefined || subject === undefined) throw new UsageError('link-upstream needs USER PROVIDER SUBJECT, or --from-file.');
        return linkUpstream(m, [{ user, provider, subject }]);
      }),
    );

  manage
    .command('unlink-upstream')
    .description("remove a user's link to an upstream provider (all of them for that provider, or the one SUBJECT)")
    .argument('<user>')
    .argument('<provider>')
    .argument('[subject]')
    .action(
      action<[string, string, string | undefined]>({}, async (m, user, provider, subject) => {
        const { unlinkUpstream } = await import('../manage/commands/links.js');
        return unlinkUpstream(m, { user, provider, ...(subject !== undefined ? { subject } : {}) });
      }),
    );

  registerListingCommands(manage, ctx);

  manage
    .command('provision-all-users')
    .description('schedule provision-user for every MAS user, so the worker pushes emails, lock state and names to the homeserver; needs the MAS database')
    .action(
      action<[]>({ dbOnly: true }, async (m) => {
        const { provisionAllUsers } = await import('../manage/commands/sessions.js');
        return provisionAllUsers(m as ManageContext & { backend: DatabaseOnlyBackend });
      }),
    );
}

interface RegisterFlags {
  passwordStdin?: boolean;
  passwordPrompt?: boolean;
  email?: string[];
  admin?: boolean;
  displayName?: string;
  upstream?: string[];
  skipHomeserverCheck?: boolean;
  ifNotExists?: boolean;
  ignoreComplexity?: boolean;
  fromFile?: string;
}
