import { MEDIA_TYPES, type MediaType } from '../store/enums.js';

export { MEDIA_TYPES, type MediaType } from '../store/enums.js';

/** Narrows an untrusted string (e.g. a stored column) to a {@link MediaType}. */
export function isMediaType(value: unknown): value is MediaType {
  return typeof value === 'string' && (MEDIA_TYPES as readonly string[]).includes(value);
}
