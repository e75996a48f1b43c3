// PLACEHOLDER: being written.
export interface GeneratedSecrets {
  /** 32 random bytes, hex. */
  encryptionHex: string;
  rsaPrivateKeyPem: string;
  ecP256PrivateKeyPem: string;
  /** Random shared secret for matrix.secret when Synapse has none. */
  matrixSecret: string;
}

export function generateSecrets(): GeneratedSecrets {
  throw new Error('not written yet');
}
