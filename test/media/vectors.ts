/**
 * Known-answer vectors for WhatsApp media crypto. Two sets:
 * - our own, made by test/fixtures/vectors/generate.sh with the openssl command line (committed);
 * - real CDN files gathered from public WhatsApp implementations, which are never copied into
 *   this repository: read in place from TEST_VECTORS_DIR, or from `../shared/test-vectors`
 *   beside the repository. CI always provides them; elsewhere, unless TEST_VECTORS_DIR names
 *   them, they are left out with one line saying so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { isMediaType } from '../../src/media/media-type.js';
import type { MediaType } from '../../src/media/media-type.js';

const OWN_DIR = new URL('../fixtures/vectors/', import.meta.url);
const EXTERNAL_DIR = process.env.TEST_VECTORS_DIR
  ? pathToFileURL(`${process.env.TEST_VECTORS_DIR.replace(/\/+$/, '')}/`)
  : new URL('../../../shared/test-vectors/', import.meta.url);

type ManifestVector = {
  id: string;
  type: string;
  mediaKey: string;
  encFile: string;
  plainFile?: string;
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
  /** The plaintext, when the set ships it (our own vectors do). */
  plain: Buffer | null;
  fileSha256: Buffer | null;
  fileEncSha256: Buffer | null;
  encLength: number | null;
  plainLength: number | null;
};

function load(dir: URL): Vector[] {
  const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as { vectors: ManifestVector[] };
  return manifest.vectors.map((v) => {
    // Voice notes (ptt) and GIFs (gif) use the Audio and Video keys.
    const type = v.type === 'ptt' ? 'audio' : v.type === 'gif' ? 'video' : v.type;
    if (!isMediaType(type)) throw new Error(`vector ${v.id}: unknown media type ${v.type}`);
    return {
      id: v.id,
      type,
      mediaKey: Buffer.from(v.mediaKey, 'base64'),
      enc: readFileSync(new URL(v.encFile, dir)),
      plain: v.plainFile ? readFileSync(new URL(v.plainFile, dir)) : null,
      fileSha256: v.fileSha256 ? Buffer.from(v.fileSha256, 'hex') : null,
      fileEncSha256: v.fileEncSha256 ? Buffer.from(v.fileEncSha256, 'hex') : null,
      encLength: v.encLength ?? null,
      plainLength: v.plainLength ?? null,
    };
  });
}

/** Our own openssl-made vectors: always present. */
export function ownVectors(): Vector[] {
  return load(OWN_DIR);
}

let announced = false;

/** The external real-WhatsApp vectors, or an empty list (said once) when the folder is absent. */
export function externalVectors(): Vector[] {
  if (existsSync(new URL('manifest.json', EXTERNAL_DIR))) return load(EXTERNAL_DIR);
  // Asked for by name (as .ci/run does): missing vectors are a failure, not a skip.
  if (process.env.TEST_VECTORS_DIR)
    throw new Error(`TEST_VECTORS_DIR=${process.env.TEST_VECTORS_DIR} holds no manifest.json`);
  if (!announced) {
    announced = true;
    console.info(
      `External WhatsApp test vectors not run: no manifest.json in ${EXTERNAL_DIR.pathname} (set TEST_VECTORS_DIR to run them).`,
    );
  }
  return [];
}

/** Every vector available here: ours, then the external ones when present. */
export function loadVectors(): Vector[] {
  return [...ownVectors(), ...externalVectors()];
}
