import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Outside production a missing SECRET_KEY is replaced by one generated on first start and kept
 * in `<DATA_DIR>/secret.key` (mode 0600), so the embedded defaults work with no setup. Losing
 * that file makes stored secrets unreadable, hence production must set SECRET_KEY explicitly.
 */
export function loadOrCreateSecretKey(dataDir: string): { key: string; created: boolean } {
  const path = join(dataDir, 'secret.key');
  try {
    return { key: readFileSync(path, 'utf8').trim(), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64url');
  writeFileSync(path, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return { key, created: true };
}
