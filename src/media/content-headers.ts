import { create as createDisposition } from 'content-disposition';

/**
 * What a media type may do in a browser. Message fields come from other people's phones: a
 * type is checked on the way in, and anything a browser would execute or render as a page is
 * served as a download.
 */

// RFC 6838 §4.2 restricted-name, then RFC 9110 parameters (token or quoted-string values).
const NAME = '[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}';
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[\\t\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\t\\x20-\\x7e])*"';
const MIME = new RegExp(`^(${NAME})/(${NAME})((?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|${QUOTED}))*)$`);

export const FALLBACK_MIME = 'application/octet-stream';

/** A declared type, checked: `{mimeType}` to store and serve, `declared` (the original) when it was refused. */
export function checkMimeType(raw: string): { mimeType: string; declared: string | null } {
  const m = raw.length <= 255 ? MIME.exec(raw) : null;
  if (!m) return { mimeType: FALLBACK_MIME, declared: raw.slice(0, 255) };
  return { mimeType: `${m[1]!.toLowerCase()}/${m[2]!.toLowerCase()}${m[3] ?? ''}`, declared: null };
}

// Types a browser shows without running anything (with nosniff, it cannot guess another).
const PASSIVE = /^(image\/(jpeg|png|gif|webp|avif|bmp|heic|heif|tiff)|audio\/[a-z0-9.+-]+|video\/[a-z0-9.+-]+)$/;

/** Whether the type may be shown inline; html, svg, xml, scripts and everything unknown may not. */
export const isPassive = (mimeType: string) => PASSIVE.test(mimeType.split(';')[0]!.trim().toLowerCase());

export const MAX_FILE_NAME = 200;

/** A file name fit for a header: control and bidi characters removed, capped at 200 characters. */
export function safeFileName(name: string): string {
  // Cc: C0/C1 controls (CR, LF, NUL…); the rest flip the text direction so "txt.exe" reads "exe.txt".
  const clean = name.replace(/[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, '').trim();
  const capped = [...clean].slice(0, MAX_FILE_NAME).join('');
  return capped || 'file';
}

/**
 * The Content-Disposition for a media download (and the stored object): `attachment` with the
 * file name when there is one, a bare `attachment` for a type that must not render, else none.
 */
export function dispositionFor(mimeType: string, fileName: string | null): string | null {
  if (fileName) return createDisposition(safeFileName(fileName));
  return isPassive(mimeType) ? null : 'attachment';
}
