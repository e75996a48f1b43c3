// Ids of the generated upstream providers: ULIDs, deterministic for fixed options.
import { createHmac } from 'node:crypto';
import { monotonicFactory, type PRNG } from 'ulid';
import type { GenerateOptions } from './context.js';

/**
 * Provider ids are ULIDs with the time of options.now. Their random part comes from an HMAC
 * keyed with the generated encryption key: deterministic for fixed options, unpredictable
 * otherwise, and revealing nothing about the key. The monotonic factory keeps ids in config order.
 */
export function providerIdFactory(options: GenerateOptions): () => string {
  let block = 0;
  let pool = Buffer.alloc(0);
  let pos = 0;
  const prng: PRNG = () => {
    if (pos >= pool.length) {
      pool = createHmac('sha256', options.secrets.encryptionHex).update(`mas-tool upstream provider id ${block++}`).digest();
      pos = 0;
    }
    // 256 is a multiple of 32, so each base32 character is uniform.
    return (pool[pos++] as number) / 256;
  };
  const factory = monotonicFactory(prng);
  const time = options.now.getTime();
  // ulid treats a zero or NaN time as "use Date.now()", which would break determinism.
  if (!Number.isFinite(time) || time <= 0) throw new RangeError('generateMasConfig: options.now must be a valid date after 1970');
  return () => factory(time);
}
