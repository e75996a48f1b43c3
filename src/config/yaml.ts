// YAML parsing for the two dialects we read. Synapse loads its files with PyYAML (YAML 1.1: `yes`,
// `no`, `on`, `off` are booleans, `<<` merge keys work, a repeated key silently wins); MAS loads its
// own with serde_yaml (YAML 1.2 core schema, repeated keys are an error).
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError } from '../errors.js';

export type YamlDialect = 'synapse' | 'mas';

export function parseYaml(text: string, file: string, dialect: YamlDialect): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    version: dialect === 'synapse' ? '1.1' : '1.2',
    merge: true,
    uniqueKeys: dialect === 'mas',
    prettyErrors: false,
  });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return {
        file: `${file}:${pos.line}:${pos.col}`,
        key: '(document)',
        message: e.message.split('\n')[0] ?? e.message,
      };
    });
    throw new ConfigError(`${file} is not valid YAML.`, {
      problems,
      hint: 'Fix the YAML syntax at the line shown (indentation and unbalanced quotes are the usual causes).',
    });
  }
  return doc.toJS({ maxAliasCount: 1000 });
}
