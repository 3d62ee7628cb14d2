import { proto } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { extractMedia } from '../../src/whatsapp/extract-media.js';

const key = Buffer.alloc(32, 7);
const base = {
  mediaKey: key,
  directPath: '/v/t62.7118-24/abc.enc',
  url: 'https://mmg.whatsapp.net/v/t62.7118-24/abc.enc',
  fileSha256: Buffer.alloc(32, 1),
  fileEncSha256: Buffer.alloc(32, 2),
  fileLength: 1234,
  mediaKeyTimestamp: 1_700_000_000,
};

const msg = (o: Record<string, unknown>) => proto.Message.fromObject(o);

describe('extractMedia', () => {
  it.each([
    ['image', { imageMessage: { ...base, mimetype: 'image/jpeg', caption: 'hi' } }, 'image', 'imageMessage'],
    ['video', { videoMessage: { ...base, mimetype: 'video/mp4' } }, 'video', 'videoMessage'],
    ['GIF playback', { videoMessage: { ...base, mimetype: 'video/mp4', gifPlayback: true } }, 'video', 'videoMessage'],
    ['round video note', { ptvMessage: { ...base, mimetype: 'video/mp4' } }, 'video', 'ptvMessage'],
    ['audio', { audioMessage: { ...base, mimetype: 'audio/mpeg' } }, 'audio', 'audioMessage'],
    [
      'voice note',
      { audioMessage: { ...base, mimetype: 'audio/ogg; codecs=opus', ptt: true } },
      'audio',
      'audioMessage',
    ],
    [
      'document',
      { documentMessage: { ...base, mimetype: 'application/pdf', fileName: 'a.pdf' } },
      'document',
      'documentMessage',
    ],
    ['sticker', { stickerMessage: { ...base, mimetype: 'image/webp' } }, 'sticker', 'stickerMessage'],
  ])('finds %s content', (_n, message, type, field) => {
    const m = extractMedia(msg(message));
    expect(m).toMatchObject({
      type,
      field,
      fileLength: 1234,
      mediaKeyTimestamp: 1_700_000_000,
      directPath: base.directPath,
    });
    expect(m!.mediaKey.equals(key)).toBe(true);
    expect(m!.fileSha256!.equals(base.fileSha256)).toBe(true);
  });

  const image = { imageMessage: { ...base, mimetype: 'image/png', caption: 'wrapped' } };
  it.each([
    ['ephemeral', { ephemeralMessage: { message: image } }],
    ['view once v1', { viewOnceMessage: { message: image } }],
    ['view once v2', { viewOnceMessageV2: { message: image } }],
    ['view once v2 extension', { viewOnceMessageV2Extension: { message: image } }],
    ['ephemeral around view once', { ephemeralMessage: { message: { viewOnceMessageV2: { message: image } } } }],
    ['edited', { editedMessage: { message: image } }],
    ['bot invoke', { botInvokeMessage: { message: image } }],
    ['buttons header', { buttonsMessage: { imageMessage: image.imageMessage, contentText: 'x' } }],
    ['template', { templateMessage: { hydratedTemplate: { imageMessage: image.imageMessage } } }],
    ['interactive header', { interactiveMessage: { header: { imageMessage: image.imageMessage } } }],
  ])('unwraps %s', (_n, message) => {
    expect(extractMedia(msg(message))).toMatchObject({ type: 'image', mimeType: 'image/png', caption: 'wrapped' });
  });

  it('unwraps document-with-caption and keeps file name and caption', () => {
    const m = extractMedia(
      msg({
        documentWithCaptionMessage: {
          message: { documentMessage: { ...base, mimetype: 'application/pdf', fileName: 'r.pdf', caption: 'see' } },
        },
      }),
    );
    expect(m).toMatchObject({ type: 'document', fileName: 'r.pdf', caption: 'see' });
  });

  it('unwraps lottie stickers', () => {
    expect(
      extractMedia(
        msg({ lottieStickerMessage: { message: { stickerMessage: { ...base, mimetype: 'application/was' } } } }),
      ),
    ).toMatchObject({ type: 'sticker' });
  });

  it.each([
    ['text', { conversation: 'hello' }],
    ['extended text', { extendedTextMessage: { text: 'hello' } }],
    ['media without a key', { imageMessage: { directPath: '/x', mimetype: 'image/jpeg' } }],
    ['nothing', {}],
  ])('returns null for %s', (_n, message) => {
    expect(extractMedia(msg(message))).toBeNull();
  });

  it('returns null for a missing message', () => {
    expect(extractMedia(undefined)).toBeNull();
    expect(extractMedia(null)).toBeNull();
  });
});
