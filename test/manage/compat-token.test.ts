import { describe, expect, it } from 'vitest';
import {
  encodeChecksum,
  generateCompatAccessToken,
  isWellFormedCompatAccessToken,
  randomAlphanumeric,
  tokenChecksum,
} from '../../src/manage/compat-token.js';

describe('compat token checksum', () => {
  it('encodes the CRC in base 62, least significant digit first, left-padded with 0 to six characters', () => {
    expect(encodeChecksum(0)).toBe('000000');
    expect(encodeChecksum(1)).toBe('000001');
    expect(encodeChecksum(10)).toBe('00000A');
    expect(encodeChecksum(61)).toBe('00000z');
    // 62 = 1*62 + 0: digits "0" then "1" -> "01" -> "000001" (MAS's order, not "000010").
    expect(encodeChecksum(62)).toBe('000001');
    // 123 = 1*62 + 61: "z" then "1".
    expect(encodeChecksum(123)).toBe('0000z1');
    // The largest CRC still fits in six digits (2^32 < 62^6).
    expect(encodeChecksum(0xffffffff)).toHaveLength(6);
  });

  it('checksums the CRC-32 (zlib, ISO-HDLC) of the text before the second underscore', () => {
    // CRC-32 of "123456789" is the standard check value 0xCBF43926 = 3421780262, which in base 62 is,
    // least significant first: 14 (E), 22 (M), 27 (R), 35 (Z), 45 (j), 3.
    expect(tokenChecksum('123456789')).toBe('EMRZj3');
  });
});

describe('generateCompatAccessToken', () => {
  it('makes mct_ + 30 alphanumerics + _ + a checksum MAS accepts', () => {
    for (let i = 0; i < 200; i++) {
      const token = generateCompatAccessToken();
      expect(token).toMatch(/^mct_[A-Za-z0-9]{30}_[A-Za-z0-9]{6}$/);
      expect(isWellFormedCompatAccessToken(token)).toBe(true);
      const [prefix, random] = token.split('_');
      expect(token.endsWith(`_${tokenChecksum(`${prefix}_${random}`)}`)).toBe(true);
    }
  });

  it('rejects a token whose checksum does not match or whose parts have the wrong length', () => {
    const token = generateCompatAccessToken();
    const flipped = token.slice(0, 5) + (token[5] === 'a' ? 'b' : 'a') + token.slice(6);
    expect(isWellFormedCompatAccessToken(flipped)).toBe(false);
    expect(isWellFormedCompatAccessToken(token.replace(/^mct/, 'mat'))).toBe(false);
    expect(isWellFormedCompatAccessToken(`${token}x`)).toBe(false);
  });

  it('discards random bytes that would bias the alphabet (248 and above)', () => {
    // 248..255 are skipped; 0 -> 'A', 61 -> '9', 62 -> 'A' again.
    const bytes = Buffer.from([255, 248, 0, 61, 62, 250, 1]);
    let offered = false;
    const random = (n: number): Buffer => {
      if (offered) throw new Error(`asked for ${n} more bytes`);
      offered = true;
      return bytes;
    };
    expect(randomAlphanumeric(4, random)).toBe('A9AB');
  });
});
