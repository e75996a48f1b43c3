// `mas-tool doctor`: flags, rendering and exit codes. The checks are in src/doctor/.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CliContext } from './context.js';
import { addMasConfigOption, addSynapseConfigOption, collect, positiveSeconds } from './options.js';
import { commandAction, readMasConfig, readSynapseConfig } from './runner.js';

interface DoctorFlags {
  config?: string[];
  synapseConfig?: string[];
  serverName?: string;
  only?: string[];
  skip?: string[];
  timeout?: string;
  caFile?: string;
  wellKnownUrl?: string;
  baseUrl?: string;
}

/** An http(s) URL for a flag, or a usage error that says what was expected. */
function urlFlag(flag: string, value: string | undefined, example: string): void {
  if (value === undefined) return;
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.hostname === '') {
    throw new UsageError(`${flag} ${value} is not an http(s) URL.`, { hint: `Give a full URL, such as ${example}.` });
  }
}


export function registerDoctorCommand(program: Command, ctx: CliContext): void {
  const doctor = program
    .command('doctor')
    .description('Diagnose a MAS deployment end to end and say what to fix')
    .option('--server-name <name>', 'the Matrix server name (default: matrix.homeserver from the MAS config)')
    .option('--only <family>', 'run only this family of checks (repeatable): issuer, wellknown, homeserver, compat, discovery, config, admin, mas, tls', collect)
    .option('--skip <check>', 'do not run this check id (repeatable)', collect)
    .option('--timeout <seconds>', 'per-request timeout in seconds', '5')
    .option('--ca-file <pem>', 'also trust the CAs in this PEM file (a private CA)')
    .option('--well-known-url <url>', 'look up the client well-known at this URL instead of https://<server name>/.well-known/matrix/client')
    .option('--base-url <url>', 'the client-facing base URL (what m.homeserver.base_url says), for the routing checks when the well-known cannot be found from here');
  addMasConfigOption(doctor);
  addSynapseConfigOption(doctor, false);
  doctor.action(commandAction(ctx, async (out, flags: DoctorFlags) => {
    const timeout = positiveSeconds('--timeout', flags.timeout);
    const { readSecretSource } = await import('../config/secret-source.js');
    const { createHttpClient } = await import('../http/client.js');
    const { doctorChecks } = await import('../doctor/checks/index.js');
    const { masTarget } = await import('../db/connection.js');
    const { runChecks, doctorExitCode } = await import('../doctor/runner.js');
    const { renderDoctor } = await import('../report/doctor.js');
    const { createDoctorContext } = await import('../doctor/context.js');
    const { discoveryJson } = await import('../doctor/client-discovery.js');

    const allChecks = doctorChecks(flags.caFile !== undefined ? { caFile: flags.caFile } : {});
    const families = new Set(allChecks.map((c) => c.family));
    for (const f of flags.only ?? []) if (!families.has(f)) throw new UsageError(`--only ${f}: no such family of checks.`, { hint: `Families: ${[...families].join(', ')}.` });
    const ids = new Set(allChecks.map((c) => c.id));
    for (const id of flags.skip ?? []) if (!ids.has(id)) throw new UsageError(`--skip ${id}: no such check.`, { hint: `Checks: ${[...ids].join(', ')}.` });

    urlFlag('--well-known-url', flags.wellKnownUrl, 'https://example.com/.well-known/matrix/client');
    urlFlag('--base-url', flags.baseUrl, 'https://matrix.example.com/');
    if (flags.serverName !== undefined && !/^[^/?#@\s]+$/.test(flags.serverName)) {
      throw new UsageError(`--server-name ${flags.serverName} is not a server name.`, { hint: 'A server name is host or host:port, as in @alice:example.com (example.com), without https://.' });
    }
    const mas = await readMasConfig(ctx, flags.config);
    const synapse = flags.synapseConfig === undefined ? undefined : await readSynapseConfig(flags.synapseConfig);
    const serverName = flags.serverName ?? mas.matrix.homeserver;
    const http = createHttpClient({ timeoutMs: timeout * 1000, ...(flags.caFile !== undefined ? { caFile: flags.caFile } : {}) });
    try {
      const session = createDoctorContext({
        issuer: mas.http.issuer,
        serverName,
        ...(flags.wellKnownUrl !== undefined ? { wellKnownUrl: flags.wellKnownUrl } : {}),
        ...(flags.baseUrl !== undefined ? { baseUrl: flags.baseUrl } : {}),
        endpoint: mas.matrix.endpoint,
        sharedSecret: mas.matrix.secret === undefined ? undefined : readSecretSource(mas.matrix.secret, 'trim'),
        http,
        mas,
        ...(synapse !== undefined ? { synapse } : {}),
        masDb: () => masTarget(mas, ctx.streams.env),
        timeoutMs: timeout * 1000,
      });
      const results = await runChecks(allChecks, session.ctx, { ...(flags.only ? { only: new Set(flags.only) } : {}), ...(flags.skip ? { skip: new Set(flags.skip) } : {}) });
      const exitCode = doctorExitCode(results);
      // null when no check needed it (--only config, say).
      const discovered = await session.discovered();
      const discovery = discovered === undefined ? null : discoveryJson(discovered);
      return {
        exitCode,
        json: () => ({ ok: exitCode === 0, exitCode, discovery, checks: results }),
        human: () => renderDoctor(results, out.paint, discovery),
      };
    } finally {
      await http.close();
    }
  }));
}
