// What a doctor check is and what it reports. Checks are data producers: they get the context (what
// the configs say, an HTTP client) and return a result; the runner schedules them and the report
// module renders them.
import type { ParsedMasConfig } from '../config/mas.js';
import type { ParsedSynapseConfig } from '../config/synapse.js';
import type { DatabaseTarget } from '../db/connection.js';
import type { HttpClient } from '../http/client.js';
import type { Secret } from '../secret.js';
import type { ClientDiscovery } from './client-discovery.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  id: string;
  family: string;
  status: CheckStatus;
  message: string;
  fix?: string;
  docs?: string;
  details?: Record<string, unknown>;
}

export interface DoctorContext {
  /** `http.issuer`, else `http.public_base`. */
  issuer: string | undefined;
  /** The Matrix server name (`matrix.homeserver`, or --server-name). */
  serverName: string;
  /**
   * The client well-known document: https://<server name>/.well-known/matrix/client, port included,
   * as Element's SDK looks it up, or --well-known-url.
   */
  wellKnownUrl: string;
  /** --base-url: the client-facing base URL, when doctor cannot find it through the well-known. */
  baseUrl?: string;
  /**
   * How clients find the homeserver (the well-known and the base URL it gives, or --base-url),
   * computed on the first call and shared by every check: routing checks run on that base URL only.
   */
  clientDiscovery(): Promise<ClientDiscovery>;
  /**
   * Where MAS reaches Synapse (`matrix.endpoint`): used for what only the internal endpoint answers
   * (/_synapse/mas, the admin API), never for routing, which it never goes through.
   */
  endpoint: string;
  /** The shared secret MAS sends to Synapse; only ever sent to `endpoint`'s /_synapse/mas/ paths. */
  sharedSecret: Secret | undefined;
  http: HttpClient;
  /** The whole MAS config (clients, policy data, listeners...). */
  mas: ParsedMasConfig;
  /** homeserver.yaml, when --synapse-config was given. */
  synapse?: ParsedSynapseConfig;
  /**
   * The MAS database, from the MAS config's database section; resolved on demand, since reading a
   * password_file can fail where doctor runs and only the database checks need it.
   */
  masDb: () => DatabaseTarget;
  /** The timeout of one request, in ms. */
  timeoutMs: number;
}

export interface DoctorCheck {
  id: string;
  family: string;
  /** Ids of checks that must pass first; otherwise this one is skipped. */
  requires?: readonly string[];
  /** Ids of checks whose results this one reads, whatever they are. */
  after?: readonly string[];
  run(ctx: DoctorContext, earlier: ReadonlyMap<string, CheckResult>): Promise<Omit<CheckResult, 'id' | 'family'>>;
}

export const DOCS = {
  homeserver: 'https://element-hq.github.io/matrix-authentication-service/setup/homeserver.html',
  reverseProxy: 'https://element-hq.github.io/matrix-authentication-service/setup/reverse-proxy.html',
  wellKnown: 'https://spec.matrix.org/latest/client-server-api/#well-known-uris',
  general: 'https://element-hq.github.io/matrix-authentication-service/setup/general.html',
} as const;
