import { create as contentDisposition } from 'content-disposition';
import { extensionFor, extensionOfName } from './object-key.js';

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
 * `Content-Disposition` of an object and of its presigned URLs (RFC 6266, with the RFC 8187
 * `filename*` form for names beyond ASCII): documents download as attachments, other media
 * open inline in a browser and save under their name.
 */
export function dispositionFor(m: NamedMedia): string {
  return contentDisposition(downloadName(m), { type: m.type === 'document' ? 'attachment' : 'inline' });
}

/** The file name as object metadata (S3 metadata is ASCII: percent-encoded UTF-8). */
export const encodedFileName = (m: NamedMedia): string => encodeURIComponent(downloadName(m));
