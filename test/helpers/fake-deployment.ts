// A local HTTPS server that behaves like a Synapse behind a reverse proxy with MAS's compatibility
// routes, as the MAS and Synapse documentation describe them, with faults that tests switch on.
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TestCertificates } from './tls.js';

export interface Faults {
  /** The shared secret Synapse expects on /_synapse/mas/ (a mismatch gives 403). */
  synapseSecret: string;
  /** matrix_authentication_service disabled in Synapse: /_synapse/mas/ and discovery are 404. */
  integrationDisabled: boolean;
  /** What /_matrix/client/v3/account/whoami answers to an unknown token. */
  whoamiStatus: number;
  versionsStatus: number;
  /** The legacy login route reaches Synapse (404 under MAS) instead of MAS, or a Synapse without MAS. */
  login: 'mas' | 'synapse-404' | 'synapse-flows';
  wellKnown: 'ok' | 'missing' | 'not-json' | 'no-base-url';
  /** Delay every answer by this many ms. */
  delayMs: number;
  /** Redirect /_synapse/mas/ to this other origin (to see what follows the redirect). */
  redirectMasApiTo?: string;
}

export interface FakeDeployment {
  url: string;
  hostPort: string;
  faults: Faults;
  requests: Array<{ path: string; authorization: string | undefined }>;
  close(): Promise<void>;
}

const json = (res: import('node:http').ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
  res.end(JSON.stringify(body));
};

export async function startFakeDeployment(certs: TestCertificates, secret: string): Promise<FakeDeployment> {
  const faults: Faults = { synapseSecret: secret, integrationDisabled: false, whoamiStatus: 401, versionsStatus: 200, login: 'mas', wellKnown: 'ok', delayMs: 0 };
  const requests: FakeDeployment['requests'] = [];
  let base = '';
  const server: Server = createServer({ key: certs.key, cert: certs.cert }, (req: IncomingMessage, res) => {
    const path = new URL(req.url ?? '/', 'https://x').pathname;
    requests.push({ path, authorization: req.headers.authorization });
    setTimeout(() => {
      if (path === '/.well-known/matrix/client') {
        if (faults.wellKnown === 'missing') return json(res, 404, { errcode: 'M_NOT_FOUND', error: '.well-known not available' });
        if (faults.wellKnown === 'not-json') {
          res.writeHead(200, { 'content-type': 'text/html' });
          return res.end('<html>welcome</html>');
        }
        return json(res, 200, faults.wellKnown === 'no-base-url' ? {} : { 'm.homeserver': { base_url: `${base}/` } });
      }
      if (path === '/_matrix/client/versions') return json(res, faults.versionsStatus, { versions: ['v1.11', 'v1.12'] });
      if (path === '/_matrix/client/v3/account/whoami') {
        if (req.headers.authorization === undefined) return json(res, 401, { errcode: 'M_MISSING_TOKEN' });
        if (faults.whoamiStatus === 200) return json(res, 200, { user_id: '@someone:example.com' });
        if (faults.whoamiStatus === 503) return json(res, 503, { errcode: 'M_UNKNOWN', error: 'Unable to introspect the access token' });
        return json(res, faults.whoamiStatus, { errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token passed.', soft_logout: false });
      }
      if (path.startsWith('/_synapse/mas/')) {
        if (faults.redirectMasApiTo !== undefined) {
          res.writeHead(302, { location: `${faults.redirectMasApiTo}${path}` });
          return res.end();
        }
        if (faults.integrationDisabled) return json(res, 404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
        if (req.headers.authorization !== `Bearer ${faults.synapseSecret}`) return json(res, 403, { errcode: 'M_FORBIDDEN', error: 'This endpoint must only be called by MAS' });
        return json(res, 400, { errcode: 'M_MISSING_PARAM', error: 'Missing localpart' });
      }
      if (/^\/_matrix\/client\/(r0|v3)\/login$/.test(path)) {
        if (faults.login === 'synapse-404') return json(res, 404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
        if (faults.login === 'synapse-flows') return json(res, 200, { flows: [{ type: 'm.login.password' }, { type: 'm.login.application_service' }] });
        return json(res, 200, {
          flows: [{ type: 'm.login.password' }, { type: 'm.login.sso', oauth_aware_preferred: true, 'org.matrix.msc3824.delegated_oidc_compatibility': true }, { type: 'm.login.token' }],
        });
      }
      json(res, 404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
    }, faults.delayMs);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  base = `https://127.0.0.1:${port}`;
  return {
    url: `${base}/`,
    hostPort: `127.0.0.1:${port}`,
    faults,
    requests,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A plain HTTP server on another origin that records what it receives. */
export async function startRecorder(): Promise<{ url: string; requests: Array<{ path: string; authorization: string | undefined }>; close(): Promise<void> }> {
  const requests: Array<{ path: string; authorization: string | undefined }> = [];
  const server: HttpServer = createHttpServer((req, res) => {
    requests.push({ path: req.url ?? '', authorization: req.headers.authorization });
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end('{}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
