import { randomBytes } from 'node:crypto';

/** A JPEG thumbnail as WhatsApp embeds it (SOI … EOI around random bytes: a shape, not a picture). */
export const jpegThumbnail = () =>
  Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(900), Buffer.from([0xff, 0xd9])]);

const b64 = (b: Buffer) => b.toString('base64');

/** The common content fields of every media message (CDN reference and hashes). */
function cdnFields() {
  return {
    url: `https://mmg.whatsapp.net/v/t62.7118-24/${randomBytes(8).toString('hex')}.enc`,
    directPath: `/v/t62.7118-24/${randomBytes(8).toString('hex')}.enc`,
    mediaKey: b64(randomBytes(32)),
    fileSha256: b64(randomBytes(32)),
    fileEncSha256: b64(randomBytes(32)),
    mediaKeyTimestamp: Math.floor(Date.now() / 1000),
  };
}

/** Real WAMessage contents of each kind, with the metadata fields WhatsApp clients send. */
export const CONTENTS = {
  image: (thumb: Buffer) => ({
    imageMessage: {
      ...cdnFields(),
      mimetype: 'image/jpeg',
      fileLength: 182_003,
      width: 1280,
      height: 960,
      caption: 'the receipt',
      jpegThumbnail: b64(thumb),
    },
  }),
  video: (thumb: Buffer) => ({
    videoMessage: {
      ...cdnFields(),
      mimetype: 'video/mp4',
      fileLength: 3_400_000,
      width: 720,
      height: 1280,
      seconds: 37,
      gifPlayback: false,
      jpegThumbnail: b64(thumb),
    },
  }),
  gif: () => ({
    videoMessage: {
      ...cdnFields(),
      mimetype: 'video/mp4',
      fileLength: 90_000,
      width: 320,
      height: 240,
      seconds: 3,
      gifPlayback: true,
    },
  }),
  ptv: () => ({
    ptvMessage: { ...cdnFields(), mimetype: 'video/mp4', fileLength: 800_000, width: 400, height: 400, seconds: 12 },
  }),
  voice: () => ({
    audioMessage: { ...cdnFields(), mimetype: 'audio/ogg; codecs=opus', fileLength: 14_200, seconds: 9, ptt: true },
  }),
  audio: () => ({
    audioMessage: { ...cdnFields(), mimetype: 'audio/mpeg', fileLength: 4_100_000, seconds: 241, ptt: false },
  }),
  document: (thumb: Buffer) => ({
    documentMessage: {
      ...cdnFields(),
      mimetype: 'application/pdf',
      fileLength: 530_000,
      fileName: 'Invoice 2026-11.pdf',
      pageCount: 4,
      title: 'Invoice',
      jpegThumbnail: b64(thumb),
    },
  }),
  sticker: () => ({
    stickerMessage: {
      ...cdnFields(),
      mimetype: 'image/webp',
      fileLength: 22_000,
      width: 512,
      height: 512,
      isAnimated: true,
    },
  }),
};

/** A WAMessage (JSON, bytes base64) with `content`, from `from` (a JID), optionally in a group. */
export function waMessage(content: Record<string, unknown>, opts: { from?: string; group?: string; id?: string } = {}) {
  const from = opts.from ?? '15550001111@s.whatsapp.net';
  return {
    key: {
      remoteJid: opts.group ?? from,
      fromMe: false,
      id: opts.id ?? `3EB0${randomBytes(8).toString('hex').toUpperCase()}`,
      ...(opts.group ? { participant: from } : {}),
    },
    messageTimestamp: Math.floor(Date.now() / 1000),
    pushName: 'Customer',
    message: content,
  };
}
