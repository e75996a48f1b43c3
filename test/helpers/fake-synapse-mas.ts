// A local Synapse as MAS sees it: the /_synapse/mas/ API behind the shared secret, answering as
// Synapse documents: is_localpart_available (200 {} or 400 with M_USER_IN_USE, M_EXCLUSIVE,
// M_INVALID_USERNAME), upsert_device. Faults: integration off (404), a device upsert that fails.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSynapseMas {
  url: string;
  /** Localparts Synapse has (created through its own admin API, say). */
  users: Set<string>;
  /** Exclusive appservice namespaces, as regexes over the localpart. */
  exclusive: RegExp[];
  devices: Array<{ localpart: string; deviceId: string }>;
  faults: { disabled: boolean; deviceFails: boolean };
  requests: Array<{ method: string; path: string; authorization: string | undefined }>;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function body(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

export async function startFakeSynapseMas(secret: string): Promise<FakeSynapseMas> {
  const fake = {
    url: '',
    users: new Set<string>(),
    exclusive: [] as RegExp[],
    devices: [] as FakeSynapseMas['devices'],
    faults: { disabled: false, deviceFails: false },
    requests: [] as FakeSynapseMas['requests'],
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    fake.requests.push({ method: req.method ?? 'GET', path: url.pathname, authorization: req.headers.authorization });
    const text = await body(req);
    if (!url.pathname.startsWith('/_synapse/mas/') || fake.faults.disabled) return json(res, 404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
    if (req.headers.authorization !== `Bearer ${secret}`) return json(res, 403, { errcode: 'M_FORBIDDEN', error: 'Invalid shared secret' });
    if (url.pathname === '/_synapse/mas/is_localpart_available' && req.method === 'GET') {
      const localpart = url.searchParams.get('localpart');
      if (localpart === null) return json(res, 400, { errcode: 'M_MISSING_PARAM', error: 'Missing localpart' });
      if (!/^[a-z0-9=_\-./+]+$/.test(localpart)) return json(res, 400, { errcode: 'M_INVALID_USERNAME', error: 'User ID can only contain characters a-z, 0-9, or "=_-./+"' });
      if (fake.users.has(localpart)) return json(res, 400, { errcode: 'M_USER_IN_USE', error: 'User ID already taken.' });
      if (fake.exclusive.some((r) => r.test(localpart))) return json(res, 400, { errcode: 'M_EXCLUSIVE', error: 'User ID reserved by an application service.' });
      return json(res, 200, {});
    }
    if (url.pathname === '/_synapse/mas/upsert_device' && req.method === 'POST') {
      if (fake.faults.deviceFails) return json(res, 500, { errcode: 'M_UNKNOWN', error: 'Internal server error' });
      const { localpart, device_id: deviceId } = JSON.parse(text) as { localpart: string; device_id: string };
      fake.devices.push({ localpart, deviceId });
      return json(res, 201, {});
    }
    return json(res, 404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    ...fake,
    get url() {
      return fake.url;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  } as FakeSynapseMas;
}
