import { pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import bcrypt from 'bcryptjs';
import { verify as argon2Verify } from '@node-rs/argon2';
import { hashPassword, phcBase64, type PasswordHashScheme } from '../../src/manage/password-hash.js';
import { Secret } from '../../src/secret.js';

const PEPPER = Buffer.from('a-secret-pepper');
const WRONG_PEPPER = Buffer.from('the-wrong-pepper');

function bytes(...parts: (string | Buffer | undefined)[]): Buffer {
  return Buffer.concat(parts.filter((p) => p !== undefined).map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
}

// Independent PHC check for pbkdf2: parse the string, recompute with node:crypto, compare.
function pbkdf2Verify(phc: string, input: Buffer): boolean {
  const m = /^\$pbkdf2-sha256\$i=(\d+),l=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(phc);
  if (m === null) throw new Error(`not a pbkdf2-sha256 PHC string: ${phc}`);
  const [, rounds, length, salt, hash] = m as unknown as [string, string, string, string, string];
  const derived = pbkdf2Sync(input, Buffer.from(salt, 'base64'), Number(rounds), Number(length), 'sha256');
  return phcBase64(derived) === hash;
}

function bcryptVerify(hash: string, input: Buffer): Promise<boolean> {
  return bcrypt.compare(input.toString('utf8'), hash);
}

function argon2VerifyWith(hash: string, password: Buffer, pepper?: Buffer): Promise<boolean> {
  return argon2Verify(hash, password, pepper === undefined ? {} : { secret: pepper });
}

const base = { version: 3, unicodeNormalization: false } as const;

describe('hashPassword: bcrypt', () => {
  const scheme: PasswordHashScheme = { ...base, algorithm: 'bcrypt', cost: 4 };

  it('hashes password bytes followed by the pepper, $2b$ with the given cost', async () => {
    const result = await hashPassword(Secret.fromString('hunter2'), { ...scheme, pepper: PEPPER });
    expect(result.version).toBe(3);
    expect(result.hash).toMatch(/^\$2b\$04\$.{53}$/);
    expect(await bcryptVerify(result.hash, bytes('hunter2', PEPPER))).toBe(true);
    expect(await bcryptVerify(result.hash, bytes('hunter2'))).toBe(false);
    expect(await bcryptVerify(result.hash, bytes('hunter2', WRONG_PEPPER))).toBe(false);
    expect(await bcryptVerify(result.hash, bytes('wrong-password', PEPPER))).toBe(false);
  });

  it('hashes the bare password without a pepper', async () => {
    const { hash } = await hashPassword(Secret.fromString('hunter2'), scheme);
    expect(await bcryptVerify(hash, bytes('hunter2'))).toBe(true);
    expect(await bcryptVerify(hash, bytes('hunter2', PEPPER))).toBe(false);
  });

  it('uses cost 12 by default', async () => {
    const { hash } = await hashPassword(Secret.fromString('hunter2'), { ...base, algorithm: 'bcrypt' });
    expect(hash.startsWith('$2b$12$')).toBe(true);
    expect(await bcryptVerify(hash, bytes('hunter2'))).toBe(true);
  });

  it('NFKC-normalises only when asked', async () => {
    const normalised = await hashPassword(Secret.fromString('\uFB01'), { ...scheme, pepper: PEPPER, unicodeNormalization: true });
    expect(await bcryptVerify(normalised.hash, bytes('fi', PEPPER))).toBe(true);
    expect(await bcryptVerify(normalised.hash, bytes('\uFB01', PEPPER))).toBe(false);
    const raw = await hashPassword(Secret.fromString('\uFB01'), { ...scheme, pepper: PEPPER });
    expect(await bcryptVerify(raw.hash, bytes('\uFB01', PEPPER))).toBe(true);
    expect(await bcryptVerify(raw.hash, bytes('fi', PEPPER))).toBe(false);
  });

  it('rejects a cost out of range and a pepper that is not UTF-8', async () => {
    await expect(hashPassword(Secret.fromString('hunter2'), { ...scheme, cost: 3 })).rejects.toThrow(/cost/);
    await expect(hashPassword(Secret.fromString('hunter2'), { ...scheme, pepper: Buffer.from([0xff, 0xfe]) })).rejects.toThrow(/UTF-8/);
  });

  it('agrees with MAS on its own test vectors', async () => {
    // From MAS's snapshot tests (crates/handlers/src/snapshots), password "hunter2", cost 10.
    expect(await bcryptVerify('$2b$10$c/EX8bTbEMfTn4oCvcQyBOR1zPyLmGzZ2pMXoElLASqv2qpq5X15i', bytes('hunter2', PEPPER))).toBe(true);
    expect(await bcryptVerify('$2b$10$mqjtwG6w3GawhuQQdwBCqOt0TQ0V4vGhB.tMuCZO8WL.ycBHkOLca', bytes('hunter2'))).toBe(true);
  });
});

describe('hashPassword: argon2id', () => {
  const scheme: PasswordHashScheme = { ...base, algorithm: 'argon2id' };

  it('uses MAS defaults and the pepper as argon2 secret', async () => {
    const result = await hashPassword(Secret.fromString('hunter2'), { ...scheme, pepper: PEPPER });
    expect(result.version).toBe(3);
    expect(result.hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(await argon2VerifyWith(result.hash, bytes('hunter2'), PEPPER)).toBe(true);
    expect(await argon2VerifyWith(result.hash, bytes('hunter2'), WRONG_PEPPER)).toBe(false);
    expect(await argon2VerifyWith(result.hash, bytes('hunter2'))).toBe(false);
    // The pepper is a key, not appended to the password.
    expect(await argon2VerifyWith(result.hash, bytes('hunter2', PEPPER))).toBe(false);
  });

  it('hashes without a secret when there is no pepper', async () => {
    const { hash } = await hashPassword(Secret.fromString('hunter2'), scheme);
    expect(await argon2VerifyWith(hash, bytes('hunter2'))).toBe(true);
    expect(await argon2VerifyWith(hash, bytes('hunter2'), PEPPER)).toBe(false);
  });

  it('NFKC-normalises only when asked', async () => {
    const normalised = await hashPassword(Secret.fromString('\uFB01'), { ...scheme, unicodeNormalization: true });
    expect(await argon2VerifyWith(normalised.hash, bytes('fi'))).toBe(true);
    expect(await argon2VerifyWith(normalised.hash, bytes('\uFB01'))).toBe(false);
    const raw = await hashPassword(Secret.fromString('\uFB01'), scheme);
    expect(await argon2VerifyWith(raw.hash, bytes('\uFB01'))).toBe(true);
    expect(await argon2VerifyWith(raw.hash, bytes('fi'))).toBe(false);
  });

  it('agrees with MAS on its own test vectors', async () => {
    const peppered = '$argon2id$v=19$m=19456,t=2,p=1$eEi11xG8mIOZYxej+ckCaQ$eBeygPqiuImQAaFQOkE6oVkPfqxIGgnqpQd/MwW4YX4';
    const plain = '$argon2id$v=19$m=19456,t=2,p=1$1WdxAF1UChkYSTnJ6NDbKg$ajKAfwlUmkbxITSdh55j+Hvoxzppx20ArNUF44oV9Nk';
    expect(await argon2VerifyWith(peppered, bytes('hunter2'), PEPPER)).toBe(true);
    expect(await argon2VerifyWith(plain, bytes('hunter2'))).toBe(true);
  });
});

describe('hashPassword: pbkdf2', () => {
  const scheme: PasswordHashScheme = { ...base, algorithm: 'pbkdf2' };

  it('writes a pbkdf2-sha256 PHC string over password bytes followed by the pepper', async () => {
    const result = await hashPassword(Secret.fromString('hunter2'), { ...scheme, pepper: PEPPER });
    expect(result.version).toBe(3);
    expect(result.hash).toMatch(/^\$pbkdf2-sha256\$i=600000,l=32\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(pbkdf2Verify(result.hash, bytes('hunter2', PEPPER))).toBe(true);
    expect(pbkdf2Verify(result.hash, bytes('hunter2', WRONG_PEPPER))).toBe(false);
    expect(pbkdf2Verify(result.hash, bytes('hunter2'))).toBe(false);
  });

  it('hashes the bare password without a pepper', async () => {
    const { hash } = await hashPassword(Secret.fromString('hunter2'), scheme);
    expect(pbkdf2Verify(hash, bytes('hunter2'))).toBe(true);
    expect(pbkdf2Verify(hash, bytes('hunter2', PEPPER))).toBe(false);
  });

  it('NFKC-normalises only when asked', async () => {
    const normalised = await hashPassword(Secret.fromString('\uFB01'), { ...scheme, pepper: PEPPER, unicodeNormalization: true });
    expect(pbkdf2Verify(normalised.hash, bytes('fi', PEPPER))).toBe(true);
    expect(pbkdf2Verify(normalised.hash, bytes('\uFB01', PEPPER))).toBe(false);
    const raw = await hashPassword(Secret.fromString('\uFB01'), { ...scheme, pepper: PEPPER });
    expect(pbkdf2Verify(raw.hash, bytes('\uFB01', PEPPER))).toBe(true);
    expect(pbkdf2Verify(raw.hash, bytes('fi', PEPPER))).toBe(false);
  });

  it('agrees with MAS on its own test vectors', () => {
    const peppered = '$pbkdf2-sha256$i=600000,l=32$eEi11xG8mIOZYxej+ckCaQ$uyS+Ip4DieQ9S+m1EcT+vCtuiWpQ3TsDGPLY4mwkOxc';
    const plain = '$pbkdf2-sha256$i=600000,l=32$1WdxAF1UChkYSTnJ6NDbKg$uwgJSFAtjA082fY37K09Q5Hjbw3mBjFI/JLW9sw0F2A';
    expect(pbkdf2Verify(peppered, bytes('hunter2', PEPPER))).toBe(true);
    expect(pbkdf2Verify(plain, bytes('hunter2'))).toBe(true);
  });
});
