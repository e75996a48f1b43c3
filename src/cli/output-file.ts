// Files a command writes for the operator (`--output`, `--report`). The path is checked before any
// work starts, so that a typo in it never costs a migration (or, worse, reports a committed one as
// failed); the file is written with mode 0600, since it holds secrets or the details of a server.
import { accessSync, closeSync, constants, fchmodSync, openSync, statSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FileExistsError, MasToolError, UsageError } from '../errors.js';

export interface OutputFileOptions {
  /** The flag that named the path, for messages: `--output`, `--report`. */
  flag: string;
  /** --force: an existing file may be replaced. */
  force: boolean;
}

/**
 * Throws unless `path` can be written: its directory exists and this user may write in it, and it
 * is not an existing file (unless `force`), a directory or a device. A usage error (exit 2), except
 * an existing file without --force, which is MAS_TOOL_FILE_EXISTS (exit 1).
 */
export function checkOutputFile(path: string, o: OutputFileOptions): void {
  const existing = statOrUndefined(path, o.flag);
  if (existing !== undefined) {
    if (existing.isDirectory()) {
      throw new UsageError(`${o.flag} ${path} is a directory.`, { hint: `Name a file, for example ${o.flag} ${resolve(path, 'report.json')}.` });
    }
    if (!existing.isFile()) throw new UsageError(`${o.flag} ${path} is not a regular file.`, { hint: `Name a new file for ${o.flag}.` });
    if (!o.force) throw new FileExistsError(path, o.flag);
    mustAccess(path, constants.W_OK, `${o.flag} ${path} exists and this user may not write it`, o.flag);
    return;
  }
  const dir = dirname(resolve(path));
  const parent = statOrUndefined(dir, o.flag);
  if (parent === undefined) {
    throw new UsageError(`${o.flag} ${path}: the directory ${dir} does not exist.`, {
      hint: `Create it first (mkdir -p ${dir}), or choose another ${o.flag} path.`,
    });
  }
  if (!parent.isDirectory()) throw new UsageError(`${o.flag} ${path}: ${dir} is not a directory.`, { hint: `Choose another ${o.flag} path.` });
  mustAccess(dir, constants.W_OK | constants.X_OK, `${o.flag} ${path}: this user may not create files in ${dir}`, o.flag);
}

/**
 * Writes the file with mode 0600 (also when --force replaces a file that had another mode). A file
 * left half-written is removed: a truncated report or config is worse than none.
 */
export function writeOutputFile(path: string, text: string, o: OutputFileOptions): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, o.force ? 'w' : 'wx', 0o600);
    fchmodSync(fd, 0o600);
    writeFileSync(fd, text);
    closeSync(fd);
  } catch (cause) {
    if (fd !== undefined) {
      closeSync(fd);
      try {
        unlinkSync(path);
      } catch {
        // Nothing more to clean up; the error below says what failed.
      }
    }
    const code = (cause as NodeJS.ErrnoException).code ?? String(cause);
    throw new MasToolError('MAS_TOOL_WRITE_FAILED', `Could not write ${o.flag} ${path}: ${code}.`, {
      cause,
      hint: code === 'EEXIST' ? `The file appeared while mas-tool ran; pass --force to replace it.` : 'Check the free space, quotas and permissions of that directory.',
    });
  }
}

function statOrUndefined(path: string, flag: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new UsageError(`${flag} ${path} cannot be used: ${code ?? String(cause)}.`, { hint: `Check the path, or choose another ${flag} path.` });
  }
}

function mustAccess(path: string, mode: number, message: string, flag: string): void {
  try {
    accessSync(path, mode);
  } catch (cause) {
    throw new UsageError(`${message} (${(cause as NodeJS.ErrnoException).code ?? String(cause)}).`, {
      hint: `Choose a path this user may write, or another ${flag} path.`,
    });
  }
}
