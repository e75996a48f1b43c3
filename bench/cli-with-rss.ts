// Runs the built CLI (dist/, what users run) and, when it is done, reports the process's peak resident
// set size on stderr's last line, so that the benchmark measures the tool's memory in a process of
// its own.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './environment.js';

const cli = (await import(pathToFileURL(join(repoRoot(), 'dist', 'cli', 'main.js')).href)) as { main(argv: string[]): Promise<number> };
const code = await cli.main(process.argv);
process.stderr.write(`\nBENCH_MAX_RSS_KB=${process.resourceUsage().maxRSS}\n`);
process.exitCode = code;
