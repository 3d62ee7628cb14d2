import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../support/app.js';
import { isDocumented } from '../support/observed-responses.js';

// The suite-wide check (global teardown) relies on this matcher: it must refuse what the
// document does not declare, or the check could never fail.
describe('observed-responses matcher', () => {
  let t: TestApp;
  let doc: Parameters<typeof isDocumented>[0];
  beforeAll(async () => {
    t = await buildTestApp('sqlite', { SIMULATOR_ENABLED: 'true' });
    doc = (await t.app.inject('/docs/openapi.json')).json();
  });
  afterAll(() => t.close());

  it('accepts declared (route, status, media type) and media ranges, refuses anything else', () => {
    const download = '/api/sessions/:session/media/:mediaId/download';
    expect(isDocumented(doc, 'POST', download, 200, 'image/jpeg')).toBe(true);
    expect(isDocumented(doc, 'POST', download, 206, 'application/pdf')).toBe(true);
    expect(isDocumented(doc, 'POST', download, 502, 'application/json')).toBe(true);
    expect(isDocumented(doc, 'POST', download, 302, null)).toBe(true);
    expect(isDocumented(doc, 'POST', download, 418, 'application/json')).toBe(false);
    expect(isDocumented(doc, 'GET', '/api/sessions/:session', 200, 'text/html')).toBe(false);
    expect(isDocumented(doc, 'GET', '/api/nowhere', 200, 'application/json')).toBe(false);
    expect(isDocumented(doc, 'GET', '/metrics', 200, 'text/plain')).toBe(true);
  });
});
