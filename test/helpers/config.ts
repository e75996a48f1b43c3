// Builds parser input from object literals, so parser tests never touch the disk.
import type { SourcedConfig } from '../../src/config/read.js';

export function sourced(value: Record<string, unknown>, file = 'homeserver.yaml'): SourcedConfig {
  return { value, files: [file], fileOf: () => file };
}
