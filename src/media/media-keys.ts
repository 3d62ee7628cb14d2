import { hkdfSync } from 'node:crypto';
import { MediaIntegrityError } from '../errors.js';
import type { MediaType } from './media-type.js';

/** Length of the `mediaKey` carried in a WhatsApp media message. */
export const MEDIA_KEY_LENGTH = 32;

export type MediaKeys = { iv: Buffer; cipherKey: Buffer; macKey: Buffer };

// HKDF `info` per media type. Stickers are encrypted with the image keys (as in Baileys'
// MEDIA_HKDF_KEY_MAPPING). Voice notes (`ptt`) are `audio` here and GIFs are `video`.
const HKDF_INFO: Record<MediaType, string> = {
  image: 'WhatsApp Image Keys',
  video: 'WhatsApp Video Keys',
  audio: 'WhatsApp Audio Keys',
  document: 'WhatsApp Document Keys',
  sticker: 'WhatsApp Image Keys',
};

/**
 * Expands a message's 32-byte `mediaKey` into the keys of its CDN file: HKDF-SHA256 with an
 * empty salt to 112 bytes; bytes 0–15 are the CBC IV, 16–47 the AES-256 key, 48–79 the
 * HMAC-SHA256 key (80–111 are unused for media downloads).
 *
 * A key of the wrong length throws {@link MediaIntegrityError}: the key comes from the sender's
 * message, so a bad one means this media cannot be decrypted, not that our code is wrong.
 * An unknown `type` (a programming error) throws a `TypeError`.
 */
export function deriveMediaKeys(mediaKey: Buffer, type: MediaType): MediaKeys {
  if (mediaKey.length !== MEDIA_KEY_LENGTH) {
    throw new MediaIntegrityError(
      `The media key is ${mediaKey.length} bytes long; WhatsApp media keys are ${MEDIA_KEY_LENGTH} bytes.`,
    );
  }
  const info = HKDF_INFO[type];
  if (info === undefined) throw new TypeError(`Unknown media type: ${String(type)}`);
  const expanded = Buffer.from(hkdfSync('sha256', mediaKey, Buffer.alloc(0), info, 112));
  return {
    iv: expanded.subarray(0, 16),
    cipherKey: expanded.subarray(16, 48),
    macKey: expanded.subarray(48, 80),
  };
}
