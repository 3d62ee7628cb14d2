const EXT: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/heic': 'heic',
  'video/mp4': 'mp4',
  'video/3gpp': '3gp',
  'video/quicktime': 'mov',
  'video/webm': 'webm',
  'audio/ogg': 'ogg',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/aac': 'aac',
  'audio/amr': 'amr',
  'audio/wav': 'wav',
  'application/pdf': 'pdf',
  'application/zip': 'zip',
  'application/msword': 'doc',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.ms-excel': 'xls',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'application/vnd.ms-powerpoint': 'ppt',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'pptx',
  'text/plain': 'txt',
  'text/csv': 'csv',
  'application/json': 'json',
  'application/was': 'was',
};

/** File extension for a MIME type (parameters ignored); `bin` when unknown. */
export function extensionFor(mimeType: string): string {
  return EXT[mimeType.split(';')[0]!.trim().toLowerCase()] ?? 'bin';
}

/** `{keyPrefix}{session}/{yyyy}/{mm}/{dd}/{mediaId}.{ext}`, dated by when the media arrived (UTC). */
export function objectKey(p: { keyPrefix: string; session: string; mediaId: string; mimeType: string; createdAt: string }): string {
  const d = new Date(p.createdAt);
  const yyyy = String(d.getUTCFullYear());
  const mm = String(d.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(d.getUTCDate()).padStart(2, '0');
  return `${p.keyPrefix}${p.session}/${yyyy}/${mm}/${dd}/${p.mediaId}.${extensionFor(p.mimeType)}`;
}
