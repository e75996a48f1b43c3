// `mas-tool config ...`: derive a MAS configuration from an existing homeserver.yaml, and the changes
// homeserver.yaml needs at the cut-over to MAS.
import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError, UsageError } from '../errors.js';
import { scrubStrongSecrets } from '../secret.js';
import { EXIT, type CliContext } from './context.js';
import { addMasConfigOption, addSynapseConfigOption } from './options.js';
import { checkOutputFile, writeOutputFile } from './output-file.js';
import { commandAction, readMasConfig, readSynapseConfig } from './runner.js';

interface GenerateFlags {
  synapseConfig: string[];
  output?: string;
  force?: boolean;
}

export function registerConfigCommands(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('Generate a MAS configuration from an existing Synapse one, and the Synapse changes at cut-over');
  const generate = config
    .command('generate')
    .description('write a MAS config.yaml derived from homeserver.yaml, with fresh keys and secrets')
    .option('-o, --output <file>', 'write to this file (mode 0600) instead of stdout')
    .option('--force', 'replace --output if it already exists');
  addSynapseConfigOption(generate, true);
  generate.action(commandAction(ctx, async (out, flags: GenerateFlags) => {
    if (out.json && flags.output === undefined) {
      throw new UsageError('--json needs --output: the generated config holds secrets and is written to a file, the JSON reports on it.', {
        hint: 'Add --output /etc/mas/config.yaml (written with mode 0600), or leave out --json to print the YAML.',
      });
    }
    const outputFile = { flag: '--output', force: flags.force === true };
    if (flags.output !== undefined) checkOutputFile(flags.output, outputFile);

    const { readSecretSource } = await import('../config/secret-source.js');
    const { generateMasConfig } = await import('../config/generate.js');
    const { generateSecrets } = await import('../config/keys.js');

    const synapse = await readSynapseConfig(flags.synapseConfig);
    const secretSource = synapse.mas?.secret;
    const result = generateMasConfig(synapse, {
      now: new Date(),
      secrets: generateSecrets(),
      ...(secretSource ? { sharedSecret: readSecretSource(secretSource, 'trim') } : {}),
    });

    if (flags.output !== undefined) {
      writeOutputFile(flags.output, result.yaml, outputFile);
      out.note(`Wrote the MAS configuration to ${flags.output}.`);
    } else {
      out.writeStdout(result.yaml);
    }
    out.findings(result.findings);
    // The product went to stdout or the file above: no human lines to add.
    return { exitCode: EXIT.ok, json: () => ({ ok: true, output: flags.output ?? null, findings: result.findings }) };
  }));

  const after = config
    .command('synapse-after')
    .description('the changes homeserver.yaml needs at cut-over, as a unified diff of your files: the matrix_authentication_service block, and every option Synapse refuses or ignores beside MAS removed')
    .option('--block', 'print only the matrix_authentication_service block')
    .option('--endpoint <url>', 'where Synapse reaches MAS (default: from the MAS http listeners)')
    .option('--secret-path <file>', 'the file Synapse reads the shared secret from (default: the one homeserver.yaml names, else matrix.secret_file of MAS, else mas_shared_secret beside homeserver.yaml)')
    .option('-o, --output <file>', 'write the patch here (mode 0600, secrets as they are, for `patch -p0 < FILE`) instead of stdout')
    .option('--force', 'replace --output if it already exists');
  addSynapseConfigOption(after, true);
  addMasConfigOption(after);
  after.action(commandAction(ctx, async (out, flags: AfterFlags) => {
    const outputFile = { flag: '--output', force: flags.force === true };
    if (flags.output !== undefined) checkOutputFile(flags.output, outputFile);
    if (flags.endpoint !== undefined) {
      let url: URL | undefined;
      try {
        url = new URL(flags.endpoint);
      } catch {
        url = undefined;
      }
      if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new UsageError(`--endpoint ${flags.endpoint} is not an http(s) URL.`, { hint: 'For example --endpoint http://mas:8080/.' });
    }
    const { expandSynapseConfigPaths, loadSynapseConfigFiles } = await import('../config/read.js');
    const { parseSynapseConfig } = await import('../config/synapse.js');
    const { planSynapseAfter, renderPlanDiff } = await import('../config/synapse-after.js');
    const { secretFileFindings } = await import('../config/shared-secret-file.js');

    const merged = loadSynapseConfigFiles(flags.synapseConfig);
    const synapse = parseSynapseConfig(merged);
    const mas = await readMasConfig(ctx, flags.config);
    const files = expandSynapseConfigPaths(flags.synapseConfig).map((path) => ({ path, text: readText(path) }));
    const directories = flags.synapseConfig.filter((p) => statSync(p).isDirectory());
    const plan = planSynapseAfter({
      files,
      directories,
      merged,
      synapse,
      mas,
      ...(flags.endpoint !== undefined ? { endpoint: flags.endpoint } : {}),
      ...(flags.secretPath !== undefined ? { secretPath: flags.secretPath } : {}),
    });
    const findings = [...plan.findings, ...secretFileFindings(plan.secretPath, mas)];
    const code = findings.some((f) => f.severity !== 'info') ? EXIT.warnings : EXIT.ok;

    const shown = flags.block ? plan.block : renderPlanDiff(plan, { mask: true });
    if (flags.output !== undefined) {
      writeOutputFile(flags.output, flags.block ? plan.block : renderPlanDiff(plan, { mask: false }), outputFile);
      out.note(flags.block ? `Wrote the block to ${flags.output}.` : `Wrote the patch to ${flags.output}; apply it with \`patch -p0 < ${flags.output}\` (it holds the lines with secrets as they are).`);
    } else if (!out.json) {
      // Already masked; scrubbed as well, as everything mas-tool prints.
      out.writeStdout(scrubStrongSecrets(shown));
    }
    if (!flags.block && plan.changes.length === 0) out.note('homeserver.yaml needs no change.');
    out.findings(findings);
    return {
      exitCode: code,
      json: () => ({
        ok: code === EXIT.ok,
        exitCode: code,
        endpoint: plan.endpoint,
        secretPath: plan.secretPath,
        changes: plan.changes,
        files: plan.files.map((f) => ({ path: f.path, new: f.isNew })),
        block: plan.block,
        ...(flags.block ? {} : { diff: shown }),
        output: flags.output ?? null,
        findings,
      }),
    };
  }));
}

interface AfterFlags {
  synapseConfig: string[];
  config?: string[];
  block?: boolean;
  endpoint?: string;
  secretPath?: string;
  output?: string;
  force?: boolean;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(`Cannot read Synapse config file ${path}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}.`, { cause, hint: 'Check the path and that this user may read the file.' });
  }
}
