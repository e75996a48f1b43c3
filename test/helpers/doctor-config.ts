// A doctor context for the config family of checks, from object literals: no network is asked and
// the database must not be touched.
import { parseMasConfig } from '../../src/config/mas.js';
import { parseSynapseConfig } from '../../src/config/synapse.js';
import type { DoctorContext } from '../../src/doctor/check.js';
import { createDoctorContext } from '../../src/doctor/context.js';
import type { HttpClient } from '../../src/http/client.js';
import { sourced } from './config.js';

export function configChecksContext(http: HttpClient, mas: Record<string, unknown>, synapse?: Record<string, unknown>): DoctorContext {
  const parsedMas = parseMasConfig(sourced(mas, 'mas.yaml'));
  return createDoctorContext({
    issuer: parsedMas.http.issuer,
    serverName: parsedMas.matrix.homeserver,
    endpoint: parsedMas.matrix.endpoint,
    sharedSecret: undefined,
    http,
    mas: parsedMas,
    ...(synapse !== undefined ? { synapse: parseSynapseConfig(sourced(synapse, 'homeserver.yaml')) } : {}),
    masDb: () => {
      throw new Error('the config checks must not touch the database');
    },
    timeoutMs: 2000,
  }).ctx;
}
