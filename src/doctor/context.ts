// Builds the context doctor's checks share, with the client discovery computed once (on the first
// check that asks) and kept for the report.
import type { DoctorContext } from './check.js';
import { sharedDiscovery, wellKnownUrlFor, type ClientDiscovery } from './client-discovery.js';

export type DoctorInput = Omit<DoctorContext, 'clientDiscovery' | 'wellKnownUrl'> & {
  /** --well-known-url; else the server name's (port included). */
  wellKnownUrl?: string;
};

export interface DoctorSession {
  ctx: DoctorContext;
  /** The discovery, if any check needed it (with --only config, none does). */
  discovered(): Promise<ClientDiscovery> | undefined;
}

export function createDoctorContext(input: DoctorInput): DoctorSession {
  const wellKnownUrl = input.wellKnownUrl ?? wellKnownUrlFor(input.serverName);
  const discovery = sharedDiscovery({
    http: input.http,
    serverName: input.serverName,
    wellKnownUrl,
    wellKnownFrom: input.wellKnownUrl !== undefined ? '--well-known-url' : 'server-name',
    ...(input.baseUrl !== undefined ? { baseUrl: input.baseUrl } : {}),
  });
  return { ctx: { ...input, wellKnownUrl, clientDiscovery: discovery.get }, discovered: discovery.started };
}
