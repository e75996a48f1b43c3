// The pure Synapse -> MAS row transforms: every rule of the migration, row by row, with concrete
// values. Ids come from a factory with a fixed secret so that results are reproducible; the link
// between rows (user -> email, device -> token -> refresh token) is checked by computing the same id
// from both sides, and every id's ULID time is checked against the row's creation time.
import { describe, expect, it } from 'vitest';
import { createIdFactory, uuidTimestampMs, type IdFactory } from '../../src/syn2mas/ids.js';
import {
  deviceSessionId,
  extractLocalpart,
  masUserId,
  MIGRATED_PASSWORD_VERSION,
  parseDeviceIp,
  transformAccessToken,
  transformDevice,
  transformExternalId,
  transformRefreshPair,
  transformThreepid,
  transformUser,
  TransformError,
  type SynapseAccessToken,
  type SynapseDevice,
  type SynapseExternalId,
  type SynapseRefreshPair,
  type SynapseThreepid,
  type SynapseUser,
} from '../../src/syn2mas/transform.js';

const SERVER = 'example.com';
const ALICE = '@alice:example.com';
/** 2018-06-30T21:26:02Z, in seconds as Synapse stores users.creation_ts. */
const ALICE_CREATED_S = 1530393962;
const ALICE_CREATED_MS = 1530393962000;
/** The run's start time, in ms. */
const NOW = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
const PROVIDER_ID = '01040404-0404-0404-0404-040404040404';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const SECRET = Buffer.alloc(32, 7);
const factory = (secret: Buffer = SECRET): IdFactory => createIdFactory(secret);

// ---- builders: a plain, unflagged Alice and her rows, with overrides ----

function user(over: Partial<SynapseUser> = {}): SynapseUser {
  return {
    name: ALICE,
    passwordHash: '$2b$12$S8XuPkwxjJy1cBh1WK4rK.2rMTmA6o8vLy1Yg3ePCYwkPwBQk1v0C',
    admin: false,
    deactivated: false,
    locked: false,
    isGuest: false,
    creationTs: ALICE_CREATED_S,
    ...over,
  };
}

function threepid(over: Partial<SynapseThreepid> = {}): SynapseThreepid {
  return { userId: ALICE, userCreationTs: ALICE_CREATED_S, medium: 'email', address: 'alice@example.com', addedAt: 1554228549014, ...over };
}

function externalId(over: Partial<SynapseExternalId> = {}): SynapseExternalId {
  return { userId: ALICE, userCreationTs: ALICE_CREATED_S, authProvider: 'oidc-raasu', externalId: '871.syn30', ...over };
}

function device(over: Partial<SynapseDevice> = {}): SynapseDevice {
  return {
    userId: ALICE,
    userCreationTs: ALICE_CREATED_S,
    admin: false,
    deviceId: 'ADEVICE',
    displayName: 'Matrix Console',
    lastSeen: 1623366000000,
    ip: '203.0.113.1',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Element/1.11',
    sessionTs: 1600000000123,
    ...over,
  };
}

function accessToken(over: Partial<SynapseAccessToken> = {}): SynapseAccessToken {
  return {
    userId: ALICE,
    userCreationTs: ALICE_CREATED_S,
    id: '42',
    deviceId: 'ADEVICE',
    token: 'syt_YWxpY2U_yKLaWQqGgzDkOaNHFpQm_2a7nJ9',
    validUntilMs: null,
    lastValidated: 1600000000123,
    sessionTs: 1600000000123,
    ...over,
  };
}

function refreshPair(over: Partial<SynapseRefreshPair> = {}): SynapseRefreshPair {
  return {
    userId: ALICE,
    userCreationTs: ALICE_CREATED_S,
    accessTokenId: '43',
    refreshTokenId: '7',
    deviceId: 'ADEVICE',
    accessToken: 'syt_YWxpY2U_AAAAAAAAAAAAAAAAAAAA_0kOyjX',
    refreshToken: 'syr_YWxpY2U_cccccccccccccccccccc_3mQ1cb',
    validUntilMs: 1700000300000,
    lastValidated: 1700000000000,
    sessionTs: 1600000000123,
    ...over,
  };
}

// ---- §4.2 localpart ----

describe('extractLocalpart', () => {
  it('returns what lies between @ and the first colon', () => {
    expect(extractLocalpart('@alice:example.com', 'example.com')).toBe('alice');
  });

  it('keeps the localpart verbatim: case, dots, = and other characters are not touched', () => {
    expect(extractLocalpart('@Alice.Smith=2f_-/x:example.com', 'example.com')).toBe('Alice.Smith=2f_-/x');
  });

  it('accepts a server name with a port, split at the first colon', () => {
    expect(extractLocalpart('@alice:example.com:8448', 'example.com:8448')).toBe('alice');
  });

  it('refuses a user of another server', () => {
    expect(() => extractLocalpart('@alice:other.example.org', 'example.com')).toThrow(TransformError);
  });

  it('compares the server name exactly: case and port matter', () => {
    expect(() => extractLocalpart('@alice:Example.com', 'example.com')).toThrow(TransformError);
    expect(() => extractLocalpart('@alice:example.com:8448', 'example.com')).toThrow(TransformError);
    expect(() => extractLocalpart('@alice:example.com', 'example.com:8448')).toThrow(TransformError);
  });

  it('refuses a localpart that contains a colon: the rest after the first colon is not the server name', () => {
    expect(() => extractLocalpart('@al:ice:example.com', 'example.com')).toThrow(TransformError);
  });

  it('refuses an ID without the @ sigil', () => {
    expect(() => extractLocalpart('alice:example.com', 'example.com')).toThrow(TransformError);
    expect(() => extractLocalpart('#alice:example.com', 'example.com')).toThrow(TransformError);
  });

  it('refuses an ID without a colon', () => {
    expect(() => extractLocalpart('@alice', 'example.com')).toThrow(TransformError);
    expect(() => extractLocalpart('@aliceexample.com', 'example.com')).toThrow(TransformError);
  });
});

// ---- §4.4 users, §4.5 passwords ----

describe('transformUser', () => {
  it('writes an unflagged user with the localpart as username and creation_ts in ms', () => {
    const { user: u } = transformUser(user(), SERVER, factory());
    expect(u).toEqual({
      userId: expect.stringMatching(UUID),
      username: 'alice',
      createdAt: ALICE_CREATED_MS,
      lockedAt: null,
      deactivatedAt: null,
      canRequestAdmin: false,
      isGuest: false,
    });
  });

  it('keeps the username case: no case folding', () => {
    const { user: u } = transformUser(user({ name: '@Alice.SMITH:example.com' }), SERVER, factory());
    expect(u.username).toBe('Alice.SMITH');
  });

  it('works with a server name that has a port', () => {
    const { user: u } = transformUser(user({ name: '@bob:example.com:8448' }), 'example.com:8448', factory());
    expect(u.username).toBe('bob');
  });

  it('fails on a user of another server', () => {
    expect(() => transformUser(user({ name: '@alice:elsewhere.org' }), SERVER, factory())).toThrow(TransformError);
  });

  it('gives the user id a ULID time equal to creation_ts * 1000', () => {
    const { user: u } = transformUser(user(), SERVER, factory());
    expect(uuidTimestampMs(u.userId)).toBe(ALICE_CREATED_MS);
  });

  it('gives the same user id as a dependent row computes from (name, creation_ts)', () => {
    const ids = factory();
    const { user: u } = transformUser(user(), SERVER, ids);
    expect(masUserId(ids, ALICE, ALICE_CREATED_S)).toBe(u.userId);
    // And a fresh factory with the same secret, as another phase of the same run would use.
    expect(masUserId(factory(), ALICE, ALICE_CREATED_S)).toBe(u.userId);
  });

  it('gives different users different ids, even when created in the same second', () => {
    const ids = factory();
    const a = transformUser(user(), SERVER, ids).user.userId;
    const b = transformUser(user({ name: '@bob:example.com' }), SERVER, ids).user.userId;
    expect(a).not.toBe(b);
    expect(uuidTimestampMs(a)).toBe(uuidTimestampMs(b));
  });

  it('sets locked_at to the creation time for a locked user', () => {
    const { user: u } = transformUser(user({ locked: true }), SERVER, factory());
    expect(u.lockedAt).toBe(ALICE_CREATED_MS);
    expect(u.deactivatedAt).toBeNull();
  });

  it('sets deactivated_at to the creation time for a deactivated user', () => {
    const { user: u } = transformUser(user({ deactivated: true }), SERVER, factory());
    expect(u.deactivatedAt).toBe(ALICE_CREATED_MS);
    expect(u.lockedAt).toBeNull();
  });

  it('sets both for a locked, deactivated user', () => {
    const { user: u } = transformUser(user({ locked: true, deactivated: true }), SERVER, factory());
    expect(u.lockedAt).toBe(ALICE_CREATED_MS);
    expect(u.deactivatedAt).toBe(ALICE_CREATED_MS);
  });

  it('turns a Synapse admin into can_request_admin', () => {
    expect(transformUser(user({ admin: true }), SERVER, factory()).user.canRequestAdmin).toBe(true);
    expect(transformUser(user({ admin: false }), SERVER, factory()).user.canRequestAdmin).toBe(false);
  });

  it('keeps the guest flag', () => {
    expect(transformUser(user({ isGuest: true }), SERVER, factory()).user.isGuest).toBe(true);
    expect(transformUser(user({ isGuest: false }), SERVER, factory()).user.isGuest).toBe(false);
  });

  it('writes the password hash verbatim as version 1, with the user id and creation time', () => {
    const hash = '$2b$12$S8XuPkwxjJy1cBh1WK4rK.2rMTmA6o8vLy1Yg3ePCYwkPwBQk1v0C';
    const { user: u, password } = transformUser(user({ passwordHash: hash }), SERVER, factory());
    expect(password).toEqual({
      userPasswordId: expect.stringMatching(UUID),
      userId: u.userId,
      hashedPassword: hash,
      createdAt: ALICE_CREATED_MS,
      version: 1,
    });
    expect(MIGRATED_PASSWORD_VERSION).toBe(1);
    expect(password?.userPasswordId).not.toBe(u.userId);
    expect(uuidTimestampMs(password?.userPasswordId ?? '')).toBe(ALICE_CREATED_MS);
  });

  it('keeps a hash of another scheme verbatim too', () => {
    const hash = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2g';
    expect(transformUser(user({ passwordHash: hash }), SERVER, factory()).password?.hashedPassword).toBe(hash);
  });

  it('writes no password for a NULL hash', () => {
    const result = transformUser(user({ passwordHash: null }), SERVER, factory());
    expect(result.password).toBeUndefined();
    expect(result.user.username).toBe('alice');
  });

  it('writes no password for an empty hash', () => {
    expect(transformUser(user({ passwordHash: '' }), SERVER, factory()).password).toBeUndefined();
  });

  it('writes the password of locked, deactivated and guest users too', () => {
    expect(transformUser(user({ locked: true, deactivated: true, isGuest: true }), SERVER, factory()).password).toBeDefined();
  });
});

// ---- §4.6 threepids ----

describe('transformThreepid', () => {
  it('turns an email into a user_emails row, address verbatim, created_at = added_at', () => {
    const ids = factory();
    const result = transformThreepid(threepid({ address: 'Alice.Smith@Example.COM', addedAt: 1554228549014 }), ids);
    expect(result).toEqual({
      kind: 'email',
      email: {
        userEmailId: expect.stringMatching(UUID),
        userId: masUserId(ids, ALICE, ALICE_CREATED_S),
        email: 'Alice.Smith@Example.COM',
        createdAt: 1554228549014,
      },
    });
  });

  it("links the email to the user row's id", () => {
    const ids = factory();
    const { user: u } = transformUser(user(), SERVER, ids);
    const result = transformThreepid(threepid(), ids);
    if (result.kind !== 'email') throw new Error(`expected an email, got ${result.kind}`);
    expect(result.email.userId).toBe(u.userId);
    expect(uuidTimestampMs(result.email.userEmailId)).toBe(1554228549014);
  });

  it('gives distinct emails distinct ids', () => {
    const ids = factory();
    const a = transformThreepid(threepid({ address: 'a@example.com' }), ids);
    const b = transformThreepid(threepid({ address: 'b@example.com' }), ids);
    if (a.kind !== 'email' || b.kind !== 'email') throw new Error('expected emails');
    expect(a.email.userEmailId).not.toBe(b.email.userEmailId);
  });

  it('treats the medium case-sensitively: "Email" is an unsupported threepid', () => {
    const ids = factory();
    expect(transformThreepid(threepid({ medium: 'Email', address: 'alice@example.com', addedAt: 1554228549014 }), ids)).toEqual({
      kind: 'unsupported',
      threepid: { userId: masUserId(ids, ALICE, ALICE_CREATED_S), medium: 'Email', address: 'alice@example.com', createdAt: 1554228549014 },
    });
  });

  it('turns an msisdn into an unsupported threepid row with medium, address and added_at', () => {
    const ids = factory();
    expect(transformThreepid(threepid({ medium: 'msisdn', address: '447700900123', addedAt: 1555228549014 }), ids)).toEqual({
      kind: 'unsupported',
      threepid: { userId: masUserId(ids, ALICE, ALICE_CREATED_S), medium: 'msisdn', address: '447700900123', createdAt: 1555228549014 },
    });
  });
});

// ---- §4.7 external ids ----

describe('transformExternalId', () => {
  it('writes an upstream link with the subject verbatim, the provider id and the user creation time', () => {
    const ids = factory();
    const link = transformExternalId(externalId(), PROVIDER_ID, ids);
    expect(link).toEqual({
      upstreamOauthLinkId: expect.stringMatching(UUID),
      userId: masUserId(ids, ALICE, ALICE_CREATED_S),
      upstreamOauthProviderId: PROVIDER_ID,
      subject: '871.syn30',
      createdAt: ALICE_CREATED_MS,
    });
    expect(uuidTimestampMs(link.upstreamOauthLinkId)).toBe(ALICE_CREATED_MS);
  });

  it('does not normalise the subject', () => {
    const link = transformExternalId(externalId({ externalId: ' Mixed.Case|sub:123 ' }), PROVIDER_ID, factory());
    expect(link.subject).toBe(' Mixed.Case|sub:123 ');
  });

  it("links to the user row's id", () => {
    const ids = factory();
    const { user: u } = transformUser(user(), SERVER, ids);
    expect(transformExternalId(externalId(), PROVIDER_ID, ids).userId).toBe(u.userId);
  });

  it('gives distinct external ids distinct link ids', () => {
    const ids = factory();
    const a = transformExternalId(externalId({ externalId: 'sub-1' }), PROVIDER_ID, ids);
    const b = transformExternalId(externalId({ externalId: 'sub-2' }), PROVIDER_ID, ids);
    const c = transformExternalId(externalId({ authProvider: 'oidc-other', externalId: 'sub-1' }), PROVIDER_ID, ids);
    expect(new Set([a.upstreamOauthLinkId, b.upstreamOauthLinkId, c.upstreamOauthLinkId]).size).toBe(3);
  });
});

// ---- §4.10 devices ----

describe('transformDevice', () => {
  it('writes a compat session with the device fields', () => {
    const ids = factory();
    const { session, invalidIp } = transformDevice(device(), ids, NOW);
    expect(session).toEqual({
      compatSessionId: expect.stringMatching(UUID),
      userId: masUserId(ids, ALICE, ALICE_CREATED_S),
      deviceId: 'ADEVICE',
      humanName: 'Matrix Console',
      createdAt: 1600000000123,
      isSynapseAdmin: false,
      lastActiveAt: 1623366000000,
      lastActiveIp: '203.0.113.1',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Element/1.11',
    });
    expect(invalidIp).toBe(false);
  });

  it('gives the session id a ULID time equal to its created_at', () => {
    const { session } = transformDevice(device({ sessionTs: 1600000000123 }), factory(), NOW);
    expect(uuidTimestampMs(session.compatSessionId)).toBe(1600000000123);
  });

  it('uses the same session id that the device tokens compute', () => {
    const ids = factory();
    const { session } = transformDevice(device({ sessionTs: 1600000000123 }), ids, NOW);
    const { token } = transformAccessToken(accessToken({ deviceId: 'ADEVICE', sessionTs: 1600000000123, lastValidated: 1650000000000 }), ids, NOW);
    const pair = transformRefreshPair(refreshPair({ deviceId: 'ADEVICE', sessionTs: 1600000000123 }), ids, NOW);
    expect(token.compatSessionId).toBe(session.compatSessionId);
    expect(pair.accessToken.compatSessionId).toBe(session.compatSessionId);
    expect(deviceSessionId(ids, ALICE, 'ADEVICE', 1600000000123, NOW)).toEqual({ id: session.compatSessionId, createdAt: 1600000000123 });
  });

  it('creates the session of a device without tokens at the run start time, as its tokens would', () => {
    const ids = factory();
    const { session } = transformDevice(device({ sessionTs: null }), ids, NOW);
    expect(session.createdAt).toBe(NOW);
    expect(uuidTimestampMs(session.compatSessionId)).toBe(NOW);
    const { token } = transformAccessToken(accessToken({ sessionTs: null, lastValidated: null }), ids, NOW);
    expect(token.compatSessionId).toBe(session.compatSessionId);
  });

  it('gives the same device id of two users two sessions', () => {
    const ids = factory();
    const a = transformDevice(device(), ids, NOW).session;
    const b = transformDevice(device({ userId: '@bob:example.com' }), ids, NOW).session;
    expect(a.compatSessionId).not.toBe(b.compatSessionId);
  });

  it('gives two devices of one user two sessions', () => {
    const ids = factory();
    const a = transformDevice(device({ deviceId: 'ADEVICE' }), ids, NOW).session;
    const b = transformDevice(device({ deviceId: 'BDEVICE' }), ids, NOW).session;
    expect(a.compatSessionId).not.toBe(b.compatSessionId);
  });

  it('marks the session of an admin as a Synapse admin session', () => {
    expect(transformDevice(device({ admin: true }), factory(), NOW).session.isSynapseAdmin).toBe(true);
    expect(transformDevice(device({ admin: false }), factory(), NOW).session.isSynapseAdmin).toBe(false);
  });

  it('keeps a missing display name, last seen and user agent as NULL', () => {
    const { session } = transformDevice(device({ displayName: null, lastSeen: null, userAgent: null }), factory(), NOW);
    expect(session.humanName).toBeNull();
    expect(session.lastActiveAt).toBeNull();
    expect(session.userAgent).toBeNull();
  });

  it.each([
    ['203.0.113.1', '203.0.113.1', false],
    ['2001:db8::1', '2001:db8::1', false],
    ['-', null, false],
    [null, null, false],
    ['203.0.113.7, 198.51.100.2', null, true],
    ['fe80::1%eth0', null, true],
    ['10.0.0.0/8', null, true],
    ['not an address', null, true],
    ['', null, true],
  ] as const)('stores the IP %j as %j (invalid: %j)', (ip, stored, invalid) => {
    expect(transformDevice(device({ ip }), factory(), NOW)).toMatchObject({ session: { lastActiveIp: stored }, invalidIp: invalid });
    expect(parseDeviceIp(ip)).toEqual({ ip: stored, invalid });
  });
});

// ---- §4.8 non-refreshable tokens ----

describe('transformAccessToken', () => {
  it('writes a device token verbatim, referencing the device session, without a session of its own', () => {
    const ids = factory();
    const result = transformAccessToken(accessToken({ lastValidated: 1650000000000, validUntilMs: 1650000300000 }), ids, NOW);
    expect(result).toEqual({
      token: {
        compatAccessTokenId: expect.stringMatching(UUID),
        compatSessionId: deviceSessionId(ids, ALICE, 'ADEVICE', 1600000000123, NOW).id,
        accessToken: 'syt_YWxpY2U_yKLaWQqGgzDkOaNHFpQm_2a7nJ9',
        createdAt: 1650000000000,
        expiresAt: 1650000300000,
      },
    });
    expect(result.session).toBeUndefined();
    expect(uuidTimestampMs(result.token.compatAccessTokenId)).toBe(1650000000000);
  });

  it('creates a token that was never validated at the run start time and keeps a missing expiry NULL', () => {
    const { token } = transformAccessToken(accessToken({ lastValidated: null, validUntilMs: null }), factory(), NOW);
    expect(token.createdAt).toBe(NOW);
    expect(token.expiresAt).toBeNull();
    expect(uuidTimestampMs(token.compatAccessTokenId)).toBe(NOW);
  });

  it('gives a deviceless token a session of its own, with no device and no admin rights', () => {
    const ids = factory();
    const { token, session } = transformAccessToken(accessToken({ id: '99', deviceId: null, sessionTs: null, lastValidated: 1650000000000 }), ids, NOW);
    expect(session).toEqual({
      compatSessionId: expect.stringMatching(UUID),
      userId: masUserId(ids, ALICE, ALICE_CREATED_S),
      deviceId: null,
      humanName: null,
      createdAt: 1650000000000,
      isSynapseAdmin: false,
      lastActiveAt: null,
      lastActiveIp: null,
      userAgent: null,
    });
    expect(token.compatSessionId).toBe(session?.compatSessionId);
    expect(token.compatAccessTokenId).not.toBe(session?.compatSessionId);
    expect(uuidTimestampMs(session?.compatSessionId ?? '')).toBe(1650000000000);
    expect(token.createdAt).toBe(1650000000000);
  });

  it('creates the deviceless session at the run start time for a token never validated', () => {
    const { token, session } = transformAccessToken(accessToken({ deviceId: null, sessionTs: null, lastValidated: null }), factory(), NOW);
    expect(session?.createdAt).toBe(NOW);
    expect(token.createdAt).toBe(NOW);
  });

  it("never makes a deviceless session an admin session, even for an admin's token", () => {
    // The token row carries no admin flag: the admin's devices are admin sessions, deviceless tokens never.
    const ids = factory();
    const { session } = transformAccessToken(accessToken({ userId: '@admin:example.com', deviceId: null, sessionTs: null }), ids, NOW);
    expect(session?.isSynapseAdmin).toBe(false);
    expect(transformDevice(device({ userId: '@admin:example.com', admin: true }), ids, NOW).session.isSynapseAdmin).toBe(true);
  });

  it('gives two deviceless tokens two different sessions, even with the same timestamp', () => {
    const ids = factory();
    const a = transformAccessToken(accessToken({ id: '100', token: 'syt_a', deviceId: null, sessionTs: null, lastValidated: 1650000000000 }), ids, NOW);
    const b = transformAccessToken(accessToken({ id: '101', token: 'syt_b', deviceId: null, sessionTs: null, lastValidated: 1650000000000 }), ids, NOW);
    expect(a.session?.compatSessionId).toBeDefined();
    expect(a.session?.compatSessionId).not.toBe(b.session?.compatSessionId);
    expect(a.token.compatSessionId).not.toBe(b.token.compatSessionId);
    expect(a.token.compatAccessTokenId).not.toBe(b.token.compatAccessTokenId);
  });

  it('gives two tokens of one device two token ids and one session', () => {
    const ids = factory();
    const a = transformAccessToken(accessToken({ id: '200', token: 'syt_one', lastValidated: 1650000000000 }), ids, NOW).token;
    const b = transformAccessToken(accessToken({ id: '201', token: 'syt_two', lastValidated: 1650000000000 }), ids, NOW).token;
    expect(a.compatAccessTokenId).not.toBe(b.compatAccessTokenId);
    expect(a.compatSessionId).toBe(b.compatSessionId);
  });
});

// ---- §4.9 refresh pairs ----

describe('transformRefreshPair', () => {
  it('writes both tokens verbatim in the device session, the refresh token pointing at the access token', () => {
    const ids = factory();
    const { accessToken: at, refreshToken: rt } = transformRefreshPair(refreshPair(), ids, NOW);
    const sessionId = deviceSessionId(ids, ALICE, 'ADEVICE', 1600000000123, NOW).id;
    expect(at).toEqual({
      compatAccessTokenId: expect.stringMatching(UUID),
      compatSessionId: sessionId,
      accessToken: 'syt_YWxpY2U_AAAAAAAAAAAAAAAAAAAA_0kOyjX',
      createdAt: 1700000000000,
      expiresAt: 1700000300000,
    });
    expect(rt).toEqual({
      compatRefreshTokenId: expect.stringMatching(UUID),
      compatSessionId: sessionId,
      compatAccessTokenId: at.compatAccessTokenId,
      refreshToken: 'syr_YWxpY2U_cccccccccccccccccccc_3mQ1cb',
      createdAt: 1700000000000,
    });
    expect(rt.compatRefreshTokenId).not.toBe(at.compatAccessTokenId);
    expect(uuidTimestampMs(at.compatAccessTokenId)).toBe(1700000000000);
    expect(uuidTimestampMs(rt.compatRefreshTokenId)).toBe(1700000000000);
  });

  it('creates a pair never validated at the run start time, with no expiry', () => {
    const { accessToken: at, refreshToken: rt } = transformRefreshPair(refreshPair({ lastValidated: null, validUntilMs: null }), factory(), NOW);
    expect(at.createdAt).toBe(NOW);
    expect(rt.createdAt).toBe(NOW);
    expect(at.expiresAt).toBeNull();
  });

  it('puts two live pairs of one device in one session with four distinct ids', () => {
    const ids = factory();
    const a = transformRefreshPair(refreshPair({ accessTokenId: '42', refreshTokenId: '7' }), ids, NOW);
    const b = transformRefreshPair(refreshPair({ accessTokenId: '43', refreshTokenId: '8' }), ids, NOW);
    expect(a.accessToken.compatSessionId).toBe(b.accessToken.compatSessionId);
    expect(new Set([a.accessToken.compatAccessTokenId, a.refreshToken.compatRefreshTokenId, b.accessToken.compatAccessTokenId, b.refreshToken.compatRefreshTokenId]).size).toBe(4);
    expect(b.refreshToken.compatAccessTokenId).toBe(b.accessToken.compatAccessTokenId);
  });
});

// ---- §4.1 ids across a whole run ----

describe('ids across a run', () => {
  /** Every transform once, as one run of the migration would do it. */
  function run(ids: IdFactory) {
    return {
      user: transformUser(user(), SERVER, ids),
      email: transformThreepid(threepid(), ids),
      msisdn: transformThreepid(threepid({ medium: 'msisdn', address: '447700900123' }), ids),
      link: transformExternalId(externalId(), PROVIDER_ID, ids),
      device: transformDevice(device(), ids, NOW),
      token: transformAccessToken(accessToken(), ids, NOW),
      deviceless: transformAccessToken(accessToken({ id: '99', deviceId: null, sessionTs: null }), ids, NOW),
      pair: transformRefreshPair(refreshPair(), ids, NOW),
    };
  }

  /** All the ids a run produced, by where they appear. */
  function idsOf(r: ReturnType<typeof run>): Record<string, string | undefined> {
    return {
      user: r.user.user.userId,
      password: r.user.password?.userPasswordId,
      email: r.email.kind === 'email' ? r.email.email.userEmailId : undefined,
      link: r.link.upstreamOauthLinkId,
      session: r.device.session.compatSessionId,
      token: r.token.token.compatAccessTokenId,
      devicelessSession: r.deviceless.session?.compatSessionId,
      devicelessToken: r.deviceless.token.compatAccessTokenId,
      pairAccess: r.pair.accessToken.compatAccessTokenId,
      pairRefresh: r.pair.refreshToken.compatRefreshTokenId,
    };
  }

  it('gives every row a distinct id', () => {
    const all = Object.values(idsOf(run(factory())));
    expect(all.every((id) => id !== undefined && UUID.test(id))).toBe(true);
    expect(new Set(all).size).toBe(all.length);
  });

  it('is deterministic: the same inputs and secret give the same rows and ids', () => {
    expect(run(factory(Buffer.alloc(32, 7)))).toEqual(run(factory(Buffer.alloc(32, 7))));
  });

  it('gives other ids, with the same timestamps, under another secret', () => {
    const a = idsOf(run(factory(Buffer.alloc(32, 7))));
    const b = idsOf(run(factory(Buffer.alloc(32, 8))));
    for (const key of Object.keys(a)) {
      expect(b[key], key).not.toBe(a[key]);
      expect(uuidTimestampMs(b[key] ?? ''), key).toBe(uuidTimestampMs(a[key] ?? ''));
    }
  });

  it('changes nothing but ids under another secret', () => {
    const a = run(factory(Buffer.alloc(32, 7)));
    const b = run(factory(Buffer.alloc(32, 8)));
    expect(b.user.user.username).toBe(a.user.user.username);
    expect(b.user.password?.hashedPassword).toBe(a.user.password?.hashedPassword);
    expect(b.link.subject).toBe(a.link.subject);
    expect(b.device.session.createdAt).toBe(a.device.session.createdAt);
    expect(b.pair.refreshToken.refreshToken).toBe(a.pair.refreshToken.refreshToken);
  });
});
