// `mas-tool config ...`: derive a MAS configuration from an existing homeserver.yaml.
import { existsSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { FileExistsError, UsageError } from '../errors.js';
import type { CliContext } from './main.js';
import { addSynapseConfigOption } from './options.js';

interface GenerateFlags {
  synapseConfig: string[];
  output?: string;
  force?: boolean;
}

export function registerConfigCommands(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('Generate a MAS configuration from an existing Synapse one');
  const generate = config
    .command('generate')
    .description('write a MAS config.yaml derived from homeserver.yaml, with fresh keys and secrets')
    .option('-o, --output <file>', 'write to this file (mode 0600) instead of stdout')
    .option('--force', 'replace --output if it already exists');
  addSynapseConfigOption(generate, true);
  generate.action(async (flags: GenerateFlags, cmd: Command) => {
    const out = ctx.output(cmd);
    if (out.json && flags.output === undefined) {
      throw new UsageError('--json needs --output: the generated config holds secrets and is written to a file, the JSON reports on it.');
    }
    if (flags.output !== undefined && !flags.force && existsSync(flags.output)) throw new FileExistsError(flags.output);

    const { loadSynapseConfigFiles } = await import('../config/read.js');
    const { parseSynapseConfig } = await import('../config/synapse.js');
    const { readSecretSource } = await import('../config/secret-source.js');
    const { generateMasConfig } = await import('../config/generate.js');
    const { generateSecrets } = await import('../config/keys.js');

    const synapse = parseSynapseConfig(loadSynapseConfigFiles(flags.synapseConfig));
    const secretSource = synapse.mas?.secret;
    const result = generateMasConfig(synapse, {
      now: new Date(),
      secrets: generateSecrets(),
      ...(secretSource ? { sharedSecret: readSecretSource(secretSource, 'trim') } : {}),
    });

    if (flags.output !== undefined) {
      writeFileSync(flags.output, result.yaml, { mode: 0o600 });
      out.note(`Wrote the MAS configuration to ${flags.output}.`);
    } else {
      out.writeStdout(result.yaml);
    }
    out.findings(result.findings);
    if (out.json) out.writeJson({ ok: true, output: flags.output ?? null, findings: result.findings });
  });
}
