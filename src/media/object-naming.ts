import { create as contentDisposition } from 'content-disposition';
import { extensionFor, extensionOfName } from '../storage/object-key.js';
import { isPassive, safeFileName } from './content-headers.js';

/** What names a stored object: its file name, if the message had one, and its kind. */
export interface NamedMedia {
  id: string;
  type: string;
  mimeType: string;
  fileName: string | null;
}

/**
 * The name a browser saves the object under: a document's own file name, else `<mediaId>.<ext>`
 * (WhatsApp gives photos, videos and voice notes no name).
 */
export function downloadName(m: NamedMedia): string {
  if (m.fileName && m.fileName.trim() !== '') return m.fileName;
  return `${m.id}.${extensionOfName(m.fileName) ?? extensionFor(m.mimeType)}`;
}

/**
 * `Content-Disposition` of a presigned URL's response (RFC 6266, with the RFC 8187 `filename*`
 * form for names beyond ASCII): documents and types a browser would run or render as a page
 * download as attachments; passive media open inline and save under their name.
 */
export function urlDisposition(m: NamedMedia): string {
  const attachment = m.type === 'document' || !isPassive(m.mimeType);
  return contentDisposition(safeFileName(downloadName(m)), { type: attachment ? 'attachment' : 'inline' });
}

/** The file name as object metadata (S3 metadata is ASCII: percent-encoded UTF-8). */
export const encodedFileName = (m: NamedMedia): string => encodeURIComponent(downloadName(m));
