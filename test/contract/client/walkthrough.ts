import { createHmac, createHash } from 'node:crypto';
import createClient from 'openapi-fetch';
import type { paths } from './generated/titan-api.js';

/** What the walk-through needs from its surroundings: a server, a key, a bucket, a receiver. */
export interface WalkthroughEnv {
  baseUrl: string;
  key: string;
  photo: Uint8Array;
  s3: { endpoint: string; region: string; bucket: string; accessKeyId: string; secretAccessKey: string };
  receiverUrl: string;
  /** The raw body and signature header of the first request the receiver got for `eventId`. */
  delivery(eventId: string): Promise<{ raw: Buffer; signature: string | undefined }>;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what}: no data`);
  return value;
}

/**
 * The README walk-through through a client generated from /docs/openapi.json, with no casts:
 * every request and answer below is typed by the document alone.
 */
export async function walkthrough(env: WalkthroughEnv): Promise<string[]> {
  const steps: string[] = [];
  const api = createClient<paths>({ baseUrl: env.baseUrl, headers: { Authorization: `Bearer ${env.key}` } });

  const created = await api.POST('/api/sessions', { body: { name: 'demo' } });
  steps.push(`session ${must(created.data, 'createSession').data.name} ${created.response.status}`);

  const simulated = await api.POST('/api/sessions/{session}/simulate/media', {
    params: { path: { session: 'demo' }, query: { caption: 'Hello' } },
    body: new Blob([env.photo], { type: 'image/jpeg' }),
    headers: { 'Content-Type': 'image/jpeg' },
    bodySerializer: (b) => b,
  });
  const mediaId = must(simulated.data, 'simulateMedia').data.mediaId;
  steps.push(`simulated ${simulated.response.status}`);

  const media = await api.GET('/api/sessions/{session}/media/{mediaId}', { params: { path: { session: 'demo', mediaId } } });
  const m = must(media.data, 'getMedia').data;
  steps.push(`media ${m.type} ${m.mimeType} ${m.fileLength} persisted=${m.persisted}`);

  const full = await api.POST('/api/sessions/{session}/media/{mediaId}/download', { params: { path: { session: 'demo', mediaId } }, parseAs: 'arrayBuffer' });
  const bytes = new Uint8Array(must(full.data, 'downloadMedia'));
  steps.push(`download ${full.response.status} ${full.response.headers.get('content-type')} sha256=${sha256(bytes) === sha256(env.photo)}`);

  const etag = full.response.headers.get('etag') ?? undefined;
  const slice = await api.POST('/api/sessions/{session}/media/{mediaId}/download', {
    params: { path: { session: 'demo', mediaId }, header: { range: 'bytes=0-9', 'if-range': etag } },
    parseAs: 'arrayBuffer',
  });
  const part = new Uint8Array(must(slice.data, 'downloadMedia range'));
  steps.push(`range ${slice.response.status} ${slice.response.headers.get('content-range')} same=${Buffer.from(part).equals(Buffer.from(env.photo.subarray(0, 10)))}`);

  const settings = await api.PUT('/api/account/settings', { body: { s3: { ...env.s3, forcePathStyle: true } } });
  steps.push(`settings storage=${must(settings.data, 'updateSettings').data.storage}`);

  const persisted = await api.POST('/api/sessions/{session}/media/{mediaId}/persist', { params: { path: { session: 'demo', mediaId } } });
  const p = must(persisted.data, 'persistMedia').data;
  steps.push(`persist bucket=${p.bucket === env.s3.bucket} size=${p.size} sha256=${p.sha256 === sha256(env.photo)}`);

  const webhook = await api.POST('/api/webhooks', { body: { url: env.receiverUrl, events: ['message.received', 'media.persisted'] } });
  const w = must(webhook.data, 'createWebhook').data;
  const test = await api.POST('/api/webhooks/{id}/test', { params: { path: { id: w.id } } });
  const delivery = must(test.data, 'testWebhook').data;
  const got = await env.delivery(delivery.eventId);
  const expected = `sha256=${createHmac('sha256', w.hmacKey).update(got.raw).digest('hex')}`;
  steps.push(`webhook ${test.response.status} signature=${got.signature === expected}`);

  const log = await api.GET('/api/webhooks/{id}/deliveries', { params: { path: { id: w.id }, query: { limit: 10 } } });
  steps.push(`deliveries ${must(log.data, 'listWebhookDeliveries').data.map((d) => d.event).join(',')}`);
  return steps;
}
