import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSecrets, randomAlphanumeric, RSA_MODULUS_BITS } from '../../src/config/keys.js';

describe('generateSecrets', () => {
  const a = generateSecrets();
  const b = generateSecrets();

  it('makes a 32-byte encryption key as 64 hex characters', () => {
    expect(a.encryptionHex).toMatch(/^[0-9a-f]{64}$/);
    expect(Buffer.from(a.encryptionHex, 'hex')).toHaveLength(32);
  });

  it('makes an RSA private key in PEM that node can load and sign with', () => {
    expect(a.rsaPrivateKeyPem).toMatch(/^-----BEGIN (RSA )?PRIVATE KEY-----\n/);
    expect(a.rsaPrivateKeyPem.trimEnd()).toMatch(/-----END (RSA )?PRIVATE KEY-----$/);
    const key = createPrivateKey(a.rsaPrivateKeyPem);
    expect(key.type).toBe('private');
    expect(key.asymmetricKeyType).toBe('rsa');
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(RSA_MODULUS_BITS);
    expect(key.asymmetricKeyDetails?.modulusLength).toBeGreaterThanOrEqual(2048);
    const data = Buffer.from('an id_token payload');
    const signature = sign('sha256', data, key);
    expect(verify('sha256', data, createPublicKey(key), signature)).toBe(true);
  });

  it('makes an EC key on P-256 (prime256v1) in PEM', () => {
    expect(a.ecP256PrivateKeyPem).toMatch(/^-----BEGIN (EC )?PRIVATE KEY-----\n/);
    const key = createPrivateKey(a.ecP256PrivateKeyPem);
    expect(key.type).toBe('private');
    expect(key.asymmetricKeyType).toBe('ec');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const data = Buffer.from('an id_token payload');
    expect(verify('sha256', data, createPublicKey(key), sign('sha256', data, key))).toBe(true);
  });

  it('makes a 32-character alphanumeric matrix secret', () => {
    expect(a.matrixSecret).toMatch(/^[A-Za-z0-9]{32}$/);
  });

  it('never repeats itself', () => {
    expect(b.encryptionHex).not.toBe(a.encryptionHex);
    expect(b.rsaPrivateKeyPem).not.toBe(a.rsaPrivateKeyPem);
    expect(b.ecP256PrivateKeyPem).not.toBe(a.ecP256PrivateKeyPem);
    expect(b.matrixSecret).not.toBe(a.matrixSecret);
  });
});

describe('randomAlphanumeric', () => {
  it('draws from all 62 characters', () => {
    const seen = new Set(randomAlphanumeric(20_000));
    expect(seen.size).toBe(62);
    expect([...seen].every((c) => /[A-Za-z0-9]/.test(c))).toBe(true);
  });
});
