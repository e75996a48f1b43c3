// The one argument every benchmark takes: `--users N` (or --users=N, underscores allowed), default
// 100,000.
export function parseUsersArg(argv: readonly string[], script: string): { users: number } {
  let users = 100_000;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = a === '--users' ? argv[++i] : a?.startsWith('--users=') ? a.slice(8) : undefined;
    if (value !== undefined) {
      users = Number(value.replace(/_/g, ''));
      if (!Number.isSafeInteger(users) || users < 1) throw new Error(`--users must be a positive whole number (got "${value}")`);
    } else if (a !== undefined) {
      throw new Error(`unknown argument ${a}; usage: npm run ${script} -- --users N`);
    }
  }
  return { users };
}
