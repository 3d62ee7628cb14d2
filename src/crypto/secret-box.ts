import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Secrets at rest (media keys, S3 secret keys, Baileys credentials): AES-256-GCM under a key
 * derived from SECRET_KEY. Sealed form: `v1.<keyId>.<base64url(iv ‖ tag ‖ ciphertext)>`, where
 * keyId names the key so old values still open after a rotation (SECRET_KEY_PREVIOUS).
 */
export interface SecretBox {
  seal(plain: Buffer | string): string;
  open(sealed: string): Buffer;
  /** Whether `sealed` was sealed under an older key and should be re-sealed. */
  isStale(sealed: string): boolean;
}

interface Key {
  id: string;
  key: Buffer;
}

function deriveKey(secret: string): Key {
  const key = Buffer.from(hkdfSync('sha256', secret, 'titan-media', 'secret-box v1', 32));
  return { id: createHash('sha256').update(key).digest('base64url').slice(0, 8), key };
}

/** A box that seals with `current` and opens values sealed with `current` or any of `previous`. */
export function createSecretBox(current: string, previous: readonly string[] = []): SecretBox {
  const primary = deriveKey(current);
  const keys = new Map<string, Buffer>([[primary.id, primary.key]]);
  for (const p of previous) {
    const k = deriveKey(p);
    keys.set(k.id, k.key);
  }
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', primary.key, iv);
      const ct = Buffer.concat([cipher.update(plain), cipher.final()]);
      return `v1.${primary.id}.${Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64url')}`;
    },
    open(sealed) {
      const [v, id, body] = sealed.split('.');
      const key = id === undefined ? undefined : keys.get(id);
      if (v !== 'v1' || !key || body === undefined) {
        throw new Error(
          'Cannot open a sealed secret: unknown format or key (is SECRET_KEY / SECRET_KEY_PREVIOUS right?)',
        );
      }
      const raw = Buffer.from(body, 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
    },
    isStale(sealed) {
      return sealed.split('.')[1] !== primary.id;
    },
  };
}
