import type { RetryPolicy } from '../store/enums.js';

export { RETRY_POLICIES, type RetryPolicy } from '../store/enums.js';

/** No single wait is longer than a day, whatever the policy's growth. */
export const MAX_RETRY_DELAY_MS = 86_400_000;

/**
 * The wait before the next attempt after `failed` failed attempts (1 after the first), with
 * `base` = the webhook's delay (raised to `floorMs`):
 *   constant: base;  linear: base × failed;  exponential: base × 2^(failed − 1).
 */
export function retryDelayMs(policy: RetryPolicy, baseMs: number, failed: number, floorMs: number): number {
  const base = Math.max(baseMs, floorMs);
  const n = Math.max(1, failed);
  const d = policy === 'constant' ? base : policy === 'linear' ? base * n : base * 2 ** Math.min(n - 1, 40);
  return Math.min(d, MAX_RETRY_DELAY_MS);
}
