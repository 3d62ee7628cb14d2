/** The media kinds WhatsApp encrypts with a per-message `mediaKey` that this server handles. */
export const MEDIA_TYPES = ['image', 'video', 'audio', 'document', 'sticker'] as const;

export type MediaType = (typeof MEDIA_TYPES)[number];

/** Narrows an untrusted string (e.g. a stored column) to a {@link MediaType}. */
export function isMediaType(value: unknown): value is MediaType {
  return typeof value === 'string' && (MEDIA_TYPES as readonly string[]).includes(value);
}
