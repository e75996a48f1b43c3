// `mas-tool doctor`: flags, rendering and exit codes. The checks are in src/doctor/.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { CliContext } from './main.js';
import { addMasConfigOption, addSynapseConfigOption, collect } from './options.js';

interface DoctorFlags {
  config?: string[];
  synapseConfig?: string[];
  serverName?: string;
  only?: string[];
  skip?: string[];
  timeout?: string;
  caFile?: string;
  wellKnownUrl?: string;
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
    .option('--well-known-url <url>', 'check the client well-known at this URL instead of https://<server name host>/.well-known/matrix/client');
  addMasConfigOption(doctor);
  addSynapseConfigOption(doctor, false);
  doctor.action(async (flags: DoctorFlags, cmd: Command) => {
    const out = ctx.output(cmd);
    const timeout = Number(flags.timeout);
    if (!Number.isFinite(timeout) || timeout <= 0) throw new UsageError(`--timeout must be a positive number of seconds (got "${flags.timeout}").`);
    const { loadMasConfigFiles, resolveMasConfigPaths } = await import('../config/read.js');
    const { parseMasConfig } = await import('../config/mas.js');
    const { readSecretSource } = await import('../config/secret-source.js');
    const { createHttpClient } = await import('../http/client.js');
    const { doctorChecks } = await import('../doctor/checks/index.js');
    const { masTarget } = await import('../db/connection.js');
    const { runChecks, doctorExitCode } = await import('../doctor/runner.js');
    const { renderDoctor } = await import('../report/doctor.js');
    const { wellKnownUrlFor } = await import('../doctor/check.js');

    const allChecks = doctorChecks(flags.caFile !== undefined ? { caFile: flags.caFile } : {});
    const families = new Set(allChecks.map((c) => c.family));
    for (const f of flags.only ?? []) if (!families.has(f)) throw new UsageError(`--only ${f}: no such family of checks.`, { hint: `Families: ${[...families].join(', ')}.` });
    const ids = new Set(allChecks.map((c) => c.id));
    for (const id of flags.skip ?? []) if (!ids.has(id)) throw new UsageError(`--skip ${id}: no such check.`, { hint: `Checks: ${[...ids].join(', ')}.` });

    if (flags.wellKnownUrl !== undefined && !URL.canParse(flags.wellKnownUrl)) throw new UsageError(`--well-known-url ${flags.wellKnownUrl} is not a URL.`);
    const mas = parseMasConfig(loadMasConfigFiles(resolveMasConfigPaths(flags.config ?? [], ctx.streams.env)));
    let synapse;
    if (flags.synapseConfig !== undefined) {
      const { loadSynapseConfigFiles } = await import('../config/read.js');
      const { parseSynapseConfig } = await import('../config/synapse.js');
      synapse = parseSynapseConfig(loadSynapseConfigFiles(flags.synapseConfig));
    }
    const serverName = flags.serverName ?? mas.matrix.homeserver;
    const http = createHttpClient({ timeoutMs: timeout * 1000, ...(flags.caFile !== undefined ? { caFile: flags.caFile } : {}) });
    try {
      const results = await runChecks(
        allChecks,
        {
          issuer: mas.http.issuer,
          serverName,
          wellKnownUrl: flags.wellKnownUrl ?? wellKnownUrlFor(serverName),
          endpoint: mas.matrix.endpoint,
          sharedSecret: mas.matrix.secret === undefined ? undefined : readSecretSource(mas.matrix.secret, 'trim'),
          http,
          mas,
          ...(synapse !== undefined ? { synapse } : {}),
          masDb: () => masTarget(mas, ctx.streams.env),
          timeoutMs: timeout * 1000,
        },
        { ...(flags.only ? { only: new Set(flags.only) } : {}), ...(flags.skip ? { skip: new Set(flags.skip) } : {}) },
      );
      const exitCode = doctorExitCode(results);
      if (out.json) out.writeJson({ ok: exitCode === 0, exitCode, checks: results });
      else out.print(renderDoctor(results, out.paint).join('\n'));
      ctx.exitCode = exitCode;
    } finally {
      await http.close();
    }
  });
}
