// The http section: MAS's listeners and its public URL, which homeserver.yaml cannot tell.
import type { ParsedSynapseConfig } from '../synapse.js';
import { GENERATE_CODES as C } from './codes.js';
import type { FindingSink } from './context.js';

/** MAS's baseline listeners address; also the placeholder public_base (as mas-cli generates it). */
export const DEFAULT_PUBLIC_BASE = 'http://[::]:8080/';

export function httpSection(synapse: ParsedSynapseConfig, { warn }: FindingSink): Record<string, unknown> {
  // Decision: `issuer` is left out so that it follows public_base once the operator sets it; a
  // copied placeholder issuer would silently stay wrong. trusted_proxies is left at MAS's default.
  const http = {
    listeners: [
      {
        name: 'web',
        resources: ['discovery', 'human', 'oauth', 'compat', 'graphql', 'assets'].map((name) => ({ name })),
        binds: [{ address: '[::]:8080' }],
        proxy_protocol: false,
      },
      {
        name: 'internal',
        resources: [{ name: 'health' }],
        binds: [{ host: 'localhost', port: 8081 }],
        proxy_protocol: false,
      },
    ],
    public_base: DEFAULT_PUBLIC_BASE,
  };
  // Decision: public_baseurl is Synapse's URL; MAS needs its own (auth.example.com, or a path on
  // another host), which nothing in homeserver.yaml says. Keep the placeholder and say so.
  warn(
    C.publicBase,
    `http.public_base is the placeholder ${DEFAULT_PUBLIC_BASE}; the public URL of MAS cannot be derived from homeserver.yaml${
      synapse.publicBaseurl !== undefined ? ` (public_baseurl ${synapse.publicBaseurl} is Synapse's own URL, not MAS's)` : ''
    }.`,
    'Set http.public_base to the https URL clients will reach MAS at (for example https://auth.example.com/), and route it to the web listener.',
    { key: 'http.public_base', value: DEFAULT_PUBLIC_BASE, ...(synapse.publicBaseurl !== undefined ? { synapsePublicBaseurl: synapse.publicBaseurl } : {}) },
  );
  return http;
}
