import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverS3Env, testS3Client } from './support/s3.js';

const ROOT = new URL('../', import.meta.url).pathname;
const run = promisify(execFile);

/** The ```sh blocks of the README's walk-through section, in order. */
function walkthroughBlocks(readme: string): string[] {
  const start = readme.indexOf('## Walk-through with curl');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('README walk-through', () => {
  const work = mkdtempSync(join(tmpdir(), 'titan-readme-'));
  let dev: ReturnType<typeof spawn>;
  let out = '';
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    // The suite's S3 as the dev default bucket (what the dev command makes of a local gateway).
    const s3 = testS3Client();
    await s3.send(new CreateBucketCommand({ Bucket: 'titan-media' })).catch((err: { name?: string }) => {
      if (err.name !== 'BucketAlreadyOwnedByYou' && err.name !== 'BucketAlreadyExists') throw err;
    });
    s3.destroy();
    // `npm run dev` exactly, on a database and data folder of its own.
    dev = spawn('npm', ['run', 'dev'], {
      cwd: ROOT,
      detached: true,
      env: {
        ...process.env,
        ...serverS3Env('titan-media'),
        PORT: String(port),
        DATABASE_URL: `sqlite:${join(work, 'titan.db')}`,
        DATA_DIR: join(work, 'data'),
        HOST: '',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    dev.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    dev.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const started = Date.now();
    while (!/titan-media listening/.test(out)) {
      if (dev.exitCode !== null) throw new Error(`npm run dev exited:\n${out}`);
      if (Date.now() - started > 90_000) throw new Error(`npm run dev did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 120_000);
  afterAll(async () => {
    // The dev command's process group (npm, tsx watch, the server).
    if (dev?.pid && dev.exitCode === null) {
      process.kill(-dev.pid, 'SIGTERM');
      await once(dev, 'exit');
    }
  });

  it('prints the dev bucket once with its keys, binds 127.0.0.1, and every shell block runs verbatim', async () => {
    expect(out.match(/secretAccessKey {3}\S+/g), out).toHaveLength(1);
    expect(out).toContain(`endpoint          ${serverS3Env('titan-media').S3_ENDPOINT}`);
    expect(out).toContain(`"address":"http://127.0.0.1:${port}"`);
    const key = /export KEY=(titan_\S+)/.exec(out)?.[1];
    expect(key).toBeDefined();

    const blocks = walkthroughBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    // Run from a copy of the repository root: the files it writes land in a temporary folder.
    for (const f of ['docs', 'scripts', 'node_modules', 'package.json']) symlinkSync(join(ROOT, f), join(work, f));
    const script = ['set -e', ...blocks].join('\n');
    const { stdout } = await run('bash', ['-c', script], {
      cwd: work,
      env: { ...process.env, KEY: key!, PORT: String(port) },
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });

    expect(stdout).not.toContain('"code":"');
    // curl prints no final newline, so a hash line may follow the JSON before it.
    const sums = [...stdout.matchAll(/([0-9a-f]{64}) {2}(\S+)$/gm)].map((m) => m[1]);
    expect(sums).toHaveLength(2);
    expect(sums[0]).toBe(sums[1]);
    expect(readFileSync(join(work, 'head.bin'))).toEqual(readFileSync(join(ROOT, 'docs/sample.jpg')).subarray(0, 1024));
    expect(stdout).toMatch(/"key":"demo\/\d{4}\/\d{2}\/\d{2}\/[A-Za-z0-9_-]+\.jpg","bucket":"titan-media"/);
    expect(stdout).toContain('"storage":"account"');
    expect(stdout).toMatch(/webhook\.test id=evt_\S+ signature ok/);
    expect(stdout).toMatch(/"event":"webhook\.test","state":"delivered"/);
  }, 180_000);
});
