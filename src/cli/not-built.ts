// Command groups that appear in the help but are not implemented yet. Each says so plainly and exits
// 2, so that a script can tell "not available" from "ran and failed".
import type { Command } from 'commander';
import { NotBuiltError } from '../errors.js';
import { VERSION } from './version.js';

function stub(cmd: Command, name: string): Command {
  return cmd
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption(false)
    .action(() => {
      throw new NotBuiltError(name, VERSION);
    });
}

export function registerNotBuilt(program: Command): void {
  stub(program.command('manage').description('Operator commands after migration: users, emails, admins, sessions (not built yet)'), 'manage');
}
