import mimeDb from 'mime-db';

/**
 * Our extensions first: the names people expect where mime-db's first choice is rare (`jpeg`,
 * `mpga`, `oga`), and types mime-db lacks or that WhatsApp clients send in odd spellings.
 */
const OVERRIDES: Record<string, string> = {
  'image/jpeg': 'jpg',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/ogg': 'ogg',
  'audio/opus': 'opus',
  'audio/amr': 'amr',
  'audio/aac': 'aac',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'video/mp4': 'mp4',
  'video/quicktime': 'mov',
  'video/3gpp': '3gp',
  'video/x-matroska': 'mkv',
  'text/plain': 'txt',
  'text/vcard': 'vcf',
  'text/x-vcard': 'vcf',
  'text/directory': 'vcf',
  'application/vnd.android.package-archive': 'apk',
  'application/epub+zip': 'epub',
  'application/vnd.oasis.opendocument.text': 'odt',
  'application/vnd.oasis.opendocument.spreadsheet': 'ods',
  'application/vnd.oasis.opendocument.presentation': 'odp',
  'application/vnd.rar': 'rar',
  'application/x-rar-compressed': 'rar',
  'application/x-rar': 'rar',
  'application/x-7z-compressed': '7z',
  'application/gzip': 'gz',
  'application/x-tar': 'tar',
  'application/octet-stream': 'bin',
  // WhatsApp's own sticker-pack / animation payloads.
  'application/was': 'was',
};

const SANE_EXT = /^[a-z0-9]{1,10}$/;

/** File extension for a MIME type (parameters ignored): ours, else mime-db's first, else `bin`. */
export function extensionFor(mimeType: string): string {
  const type = mimeType.split(';')[0]!.trim().toLowerCase();
  return OVERRIDES[type] ?? mimeDb[type]?.extensions?.[0] ?? 'bin';
}

/** The extension of a file name (`Report.PDF` → `pdf`), when it has a plausible one. */
export function extensionOfName(fileName: string | null | undefined): string | null {
  const m = /\.([^./\\]+)$/.exec(fileName ?? '');
  const ext = m?.[1]?.toLowerCase();
  return ext && SANE_EXT.test(ext) ? ext : null;
}

/**
 * `{keyPrefix}{session}/{yyyy}/{mm}/{dd}/{mediaId}.{ext}`, dated by when the media arrived (UTC);
 * the extension is the file name's, else the MIME type's.
 */
export function objectKey(p: {
  keyPrefix: string;
  session: string;
  mediaId: string;
  mimeType: string;
  createdAt: string;
  fileName?: string | null;
}): string {
  const d = new Date(p.createdAt);
  const yyyy = String(d.getUTCFullYear());
  const mm = String(d.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(d.getUTCDate()).padStart(2, '0');
  return `${p.keyPrefix}${p.session}/${yyyy}/${mm}/${dd}/${p.mediaId}.${extensionOfName(p.fileName) ?? extensionFor(p.mimeType)}`;
}
