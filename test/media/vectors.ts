/** Loads the shared known-answer vectors in place (they are never copied into this repo). */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { isMediaType } from '../../src/media/media-type.js';
import type { MediaType } from '../../src/media/media-type.js';

// The shared folder sits beside the repository; TEST_VECTORS_DIR points elsewhere.
const VECTORS_DIR = process.env.TEST_VECTORS_DIR
  ? pathToFileURL(`${process.env.TEST_VECTORS_DIR.replace(/\/+$/, '')}/`)
  : new URL('../../../shared/test-vectors/', import.meta.url);

type ManifestVector = {
  id: string;
  type: string;
  mediaKey: string;
  encFile: string;
  encLength?: number;
  fileSha256?: string;
  fileEncSha256?: string;
  plainLength?: number;
};

export type Vector = {
  id: string;
  type: MediaType;
  mediaKey: Buffer;
  enc: Buffer;
  fileSha256: Buffer | null;
  fileEncSha256: Buffer | null;
  encLength: number | null;
  plainLength: number | null;
};

export function loadVectors(): Vector[] {
  const manifest = JSON.parse(readFileSync(new URL('manifest.json', VECTORS_DIR), 'utf8')) as {
    vectors: ManifestVector[];
  };
  return manifest.vectors.map((v) => {
    // Voice notes (ptt) and GIFs (gif) use the Audio and Video keys.
    const type = v.type === 'ptt' ? 'audio' : v.type === 'gif' ? 'video' : v.type;
    if (!isMediaType(type)) throw new Error(`vector ${v.id}: unknown media type ${v.type}`);
    return {
      id: v.id,
      type,
      mediaKey: Buffer.from(v.mediaKey, 'base64'),
      enc: readFileSync(new URL(v.encFile, VECTORS_DIR)),
      fileSha256: v.fileSha256 ? Buffer.from(v.fileSha256, 'hex') : null,
      fileEncSha256: v.fileEncSha256 ? Buffer.from(v.fileEncSha256, 'hex') : null,
      encLength: v.encLength ?? null,
      plainLength: v.plainLength ?? null,
    };
  });
}
