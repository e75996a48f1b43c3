// Fresh secrets for a generated MAS configuration, made with node:crypto only. Kept apart from
// generate.ts so that generation itself stays pure and tests can hand it fixed secrets.
import { generateKeyPairSync, randomBytes, randomInt } from 'node:crypto';

export interface GeneratedSecrets {
  /** 32 random bytes, hex. */
  encryptionHex: string;
  rsaPrivateKeyPem: string;
  ecP256PrivateKeyPem: string;
  /** Random shared secret for matrix.secret when Synapse has none. */
  matrixSecret: string;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Bits of the RSA modulus. 2048 is what MAS generates itself and what every OIDC client accepts. */
export const RSA_MODULUS_BITS = 2048;

export function generateSecrets(): GeneratedSecrets {
  // Decision: PKCS#1 ("RSA PRIVATE KEY") and SEC1 ("EC PRIVATE KEY") PEM, the encodings MAS writes
  // for its own generated keys; MAS also reads PKCS#8, but matching its output keeps diffs against a
  // `mas-cli config generate` file readable.
  const rsa = generateKeyPairSync('rsa', {
    modulusLength: RSA_MODULUS_BITS,
    publicExponent: 0x10001,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const ec = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'sec1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return {
    encryptionHex: randomBytes(32).toString('hex'),
    rsaPrivateKeyPem: rsa.privateKey,
    ecP256PrivateKeyPem: ec.privateKey,
    matrixSecret: randomAlphanumeric(32),
  };
}

/** randomInt draws without modulo bias, so every character is equally likely. */
export function randomAlphanumeric(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}
