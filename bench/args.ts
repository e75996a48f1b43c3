// The one argument every benchmark takes: `--users N` (or --users=N, underscores allowed), default
// 100,000; and the switches a benchmark names in `switches` (migrate-bench: --growth).
export function parseUsersArg<S extends string = never>(
  argv: readonly string[],
  script: string,
  switches: readonly S[] = [],
): { users: number; switches: Set<S> } {
  let users = 100_000;
  const on = new Set<S>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = a === '--users' ? argv[++i] : a?.startsWith('--users=') ? a.slice(8) : undefined;
    if (value !== undefined) {
      users = Number(value.replace(/_/g, ''));
      if (!Number.isSafeInteger(users) || users < 1) throw new Error(`--users must be a positive whole number (got "${value}")`);
    } else if (a !== undefined && (switches as readonly string[]).includes(a)) {
      on.add(a as S);
    } else if (a !== undefined) {
      throw new Error(`unknown argument ${a}; usage: npm run ${script} -- --users N${switches.map((s) => ` [${s}]`).join('')}`);
    }
  }
  return { users, switches: on };
}
