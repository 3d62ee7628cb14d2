import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
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

interface ComposeService {
  ports?: string[];
  environment?: Record<string, string | null>;
  profiles?: string[];
  volumes?: string[];
}

describe('docker-compose.yml', () => {
  // dclint's YAML parser (what scripts/validate-docker.sh uses), with merge keys like compose.
  const YAML = createRequire(createRequire(import.meta.url).resolve('dclint'))('yaml') as {
    parse(s: string, o: object): unknown;
  };
  const services = (
    YAML.parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> }
  ).services;
  const hostPort = (svc: string, container: number) =>
    services[svc]!.ports!.map((p) => p.split(':'))
      .find((p) => p.at(-1) === String(container))
      ?.slice(0, -1);

  it('publishes every port on 127.0.0.1 only, PostgreSQL away from a local one on 5432', () => {
    for (const [name, svc] of Object.entries(services))
      for (const p of svc.ports ?? []) expect(p, name).toMatch(/^127\.0\.0\.1:/);
    expect(hostPort('postgres', 5432)!.join(':')).toBe('127.0.0.1:${POSTGRES_PORT:-55432}');
  });

  it('signs presigned URLs for the MinIO address published on the host, and talks to MinIO inside', () => {
    const env = services.app!.environment!;
    expect(env.S3_ENDPOINT).toBe('http://minio:9000');
    expect(env.S3_PUBLIC_ENDPOINT).toBe(`http://${hostPort('minio', 9000)!.join(':')}`);
  });

  it('runs the replicas with one environment (the same SECRET_KEY) and one data volume, only in the profile', () => {
    expect(services['app-2']!.environment).toEqual(services.app!.environment);
    expect(services['app-2']!.environment!.SECRET_KEY).toBeTruthy();
    expect(services['app-2']!.volumes).toEqual(services.app!.volumes);
    expect(services['app-2']!.profiles).toEqual(['replicas']);
    expect(services.proxy!.profiles).toEqual(['replicas']);
    expect(services.app!.profiles).toBeUndefined();
  });
});
