// Runs the built CLI in a process of its own (through cli-with-rss.js) and reports its exit code, wall
// time, peak RSS, stderr and the JSON it printed: how the benchmarks measure what users run.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './environment.js';

export interface CliRun {
  code: number;
  wallMs: number;
  maxRssKb: number;
  json: Record<string, unknown>;
  stderr: string;
}

export function runCli(args: string[]): Promise<CliRun> {
  const script = join(repoRoot(), 'dist-bench', 'bench', 'cli-with-rss.js');
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const rss = /BENCH_MAX_RSS_KB=(\d+)/.exec(stderr);
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(stdout) as Record<string, unknown>;
      } catch {
        // reported below through the exit code and stderr
      }
      resolve({ code: code ?? 1, wallMs: performance.now() - started, maxRssKb: Number(rss?.[1] ?? 0), json, stderr });
    });
  });
}
