// Loads what every syn2mas command needs before it touches a database: both configurations and
// the two database targets. Nothing here connects.
import { loadMasConfigFiles, loadSynapseConfigFiles, resolveMasConfigPaths } from '../config/read.js';
import { parseMasConfig, type ParsedMasConfig } from '../config/mas.js';
import { parseSynapseConfig, type ParsedSynapseConfig } from '../config/synapse.js';
import { masTarget, synapseTarget, type DatabaseTarget } from '../db/connection.js';

export interface Syn2masSources {
  masConfigPaths: readonly string[];
  synapseConfigPaths: readonly string[];
  synapseDatabaseUri?: string;
  env: NodeJS.ProcessEnv;
}

export interface Syn2masContext {
  synapse: ParsedSynapseConfig;
  mas: ParsedMasConfig;
  synapseDb: DatabaseTarget;
  masDb: DatabaseTarget;
}

export function loadSyn2masContext(sources: Syn2masSources): Syn2masContext {
  const synapse = parseSynapseConfig(loadSynapseConfigFiles(sources.synapseConfigPaths));
  const mas = parseMasConfig(loadMasConfigFiles(resolveMasConfigPaths(sources.masConfigPaths, sources.env)));
  return {
    synapse,
    mas,
    synapseDb: synapseTarget(synapse, sources.synapseDatabaseUri, sources.env),
    masDb: masTarget(mas, sources.env),
  };
}
