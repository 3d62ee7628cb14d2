import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, MASTER_KEY, type TestApp } from '../support/app.js';

const ROOT = new URL('../../', import.meta.url).pathname;
// Debian's chromium (apt-get install chromium); CHROMIUM_PATH for another build.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test/artifacts');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Types `value` into the Value cell of the row whose Key cell reads `key` (Scalar's tables). */
async function setRow(dialog: Locator, key: string, value: string) {
  const row = dialog
    .locator('tr')
    .filter({ has: dialog.page().locator('[aria-label$="Key"]', { hasText: new RegExp(`^${key}$`) }) })
    .first();
  const cell = row.locator('[aria-label$="Value"]').first();
  await cell.click();
  await cell.press('ControlOrMeta+a');
  await cell.pressSequentially(value);
}

/** Opens the interactive client of the operation listed as `summary` under `tag`. */
async function openClient(
  page: Page,
  tag: string,
  summary: string,
  method: 'get' | 'post',
  path: RegExp,
): Promise<Locator> {
  const group = page.getByRole('button', { name: `Open Group - ${tag}` });
  if (await group.count()) await group.first().click();
  await page.getByText(summary, { exact: true }).first().click();
  await page
    .getByRole('button', { name: new RegExp(`Test Request\\W*${method} ${path.source}`) })
    .first()
    .click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('button', { name: /^Send/ }).first().waitFor();
  return dialog;
}

async function closeClient(page: Page) {
  await page.getByRole('button', { name: 'Close Client' }).click();
}

describe('the /docs page in Chromium', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let key: string;
  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `The browser test needs Chromium at ${CHROMIUM}: apt-get install -y chromium (Debian), or set CHROMIUM_PATH.`,
      );
    t = await buildTestApp('sqlite', { SIMULATOR_ENABLED: 'true' });
    base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const account = await t.newAccount();
    key = account.key;
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/sessions',
      headers: account.auth,
      payload: { name: 'demo' },
    });
    expect(res.statusCode).toBe(201);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  mkdirSync(ARTIFACTS, { recursive: true });

  it('authorizes with a key, uploads a file to simulate/media, downloads it, and calls an admin route with the master key', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    // Everything the page loads comes from this server.
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(base) && !r.url().startsWith('data:') && !r.url().startsWith('blob:'))
        foreign.push(r.url());
    });
    await page.goto(`${base}/docs/`);
    await page.getByPlaceholder('Token').first().fill(key);

    // Upload: the file chooser of the request body ("Binary File"), with the photo's type.
    const photo = readFileSync(join(ROOT, 'docs/sample.jpg'));
    let dialog = await openClient(
      page,
      'simulator',
      'Simulate an incoming media message',
      'post',
      /\/api\/sessions\/\{session\}\/simulate\/media/,
    );
    await setRow(dialog, 'session', 'demo');
    await dialog.getByRole('button', { name: 'image/jpeg' }).first().click();
    await page.getByRole('option', { name: 'Binary File' }).click();
    const [chooser] = await Promise.all([
      page.waitForEvent('filechooser'),
      dialog.getByRole('button', { name: 'Select File' }).click(),
    ]);
    await chooser.setFiles(join(ROOT, 'docs/sample.jpg'));
    // The body type sets Content-Type: application/octet-stream; send the photo's own instead.
    await dialog.getByLabel('Include content-type in request').uncheck();
    const extra = dialog.locator('tr#content-type + tr');
    await extra.locator('[aria-label$="Key"]').click();
    await extra.locator('[aria-label$="Key"]').pressSequentially('Content-Type');
    await dialog.locator('tr#content-type + tr [aria-label$="Value"]').click();
    await dialog.locator('tr#content-type + tr [aria-label$="Value"]').pressSequentially('image/jpeg');
    const [uploaded] = await Promise.all([
      page.waitForResponse((r) => r.url().includes('/simulate/media') && r.request().method() === 'POST'),
      dialog.getByRole('button', { name: /^Send/ }).first().click(),
    ]);
    expect(uploaded.status()).toBe(201);
    expect(uploaded.request().headers()['content-type']).toBe('image/jpeg');
    // The answer as the page shows it.
    const idInPage = /"mediaId":\s*"([A-Za-z0-9_-]{16,64})"/;
    await expect.poll(async () => (await dialog.textContent()) ?? '').toMatch(idInPage);
    const mediaId = idInPage.exec((await dialog.textContent())!)![1]!;
    await closeClient(page);

    // Download: the page receives the decrypted bytes, identical to the upload.
    dialog = await openClient(
      page,
      'media',
      'Download the decrypted media (streamed, verified)',
      'post',
      /\/api\/sessions\/\{session\}\/media\/\{mediaId\}\/download/,
    );
    await setRow(dialog, 'session', 'demo');
    await setRow(dialog, 'mediaId', mediaId);
    const [downloaded] = await Promise.all([
      page.waitForResponse((r) => r.url().includes(`/media/${mediaId}/download`)),
      dialog.getByRole('button', { name: /^Send/ }).first().click(),
    ]);
    expect(downloaded.status()).toBe(200);
    expect(downloaded.headers()['content-type']).toBe('image/jpeg');
    expect(sha(await downloaded.body())).toBe(sha(photo));
    await closeClient(page);

    // Admin: the operation asks for the master key, and accepts it.
    dialog = await openClient(page, 'admin', 'List accounts', 'get', /\/admin\/accounts/);
    await dialog
      .getByRole('button', { name: /Selected Auth Type/ })
      .first()
      .click();
    // The page lists masterKey as this operation's required scheme; use it alone.
    await page
      .getByRole('option', { name: /masterKey/ })
      .first()
      .click();
    await page
      .getByRole('option', { name: /apiKey/ })
      .first()
      .click();
    // Close the picker (the dialog is inert while it is open).
    await page.mouse.click(1000, 600);
    await expect.poll(() => dialog.getByText(/MASTER_KEY/).count()).toBeGreaterThan(0);
    await dialog.getByPlaceholder('Token').first().fill(MASTER_KEY);
    const [admin] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/admin/accounts')),
      dialog.getByRole('button', { name: /^Send/ }).first().click(),
    ]);
    expect(admin.status()).toBe(200);
    expect(admin.request().headers().authorization).toBe(`Bearer ${MASTER_KEY}`);

    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, 'docs-page.png');
    await page.screenshot({ path: shot });
    console.log(`docs page screenshot: ${shot}`);
    expect(foreign).toEqual([]);
  });
});
