import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (p: string) => readFileSync(new URL(`../${p}`, import.meta.url), 'utf8');

describe('the image', () => {
  const dockerfile = read('Dockerfile');

  it('starts the server as `npm start` does, with node itself as PID 1', () => {
    const start = (JSON.parse(read('package.json')) as { scripts: { start: string } }).scripts.start.split(/\s+/);
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(cmd).toBeDefined();
    expect(JSON.parse(cmd!)).toEqual(start);
  });

  it('runs on the Node 24 release that scripts/node.sh fetches for CI', () => {
    const image = /^ARG NODE_VERSION=(\S+)$/m.exec(dockerfile)?.[1];
    const ci = /^\s*24\) VERSION=(\S+) /m.exec(read('scripts/node.sh'))?.[1];
    expect(image).toMatch(/^24\.\d+\.\d+$/);
    expect(image).toBe(ci);
  });

  it('puts the admin command line on PATH as the package bin names it', () => {
    const bin = (JSON.parse(read('package.json')) as { bin: Record<string, string> }).bin;
    expect(dockerfile).toContain(`ln -s /app/${bin['titan-media']} /usr/local/bin/titan-media`);
    expect(dockerfile).toContain(`chmod 755 ${bin['titan-media']}`);
  });
});
