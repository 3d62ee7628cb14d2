import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('config', () => {
  it('has working embedded defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      database: { kind: 'sqlite', path: './data/titan.db' },
      nodeEnv: 'development',
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.media)).toBe(true);
  });

  it('parses PostgreSQL URLs', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/titan' }).database).toEqual({
      kind: 'postgres',
      url: 'postgres://u:p@db:5432/titan',
    });
  });

  it('runs one process unless WORKERS asks for more, which needs PostgreSQL', () => {
    const pg = 'postgres://u:p@db:5432/titan';
    expect(loadConfig({}).workers).toBe(1);
    expect(loadConfig({ DATABASE_URL: pg, WORKERS: '3' }).workers).toBe(3);
    expect(loadConfig({ DATABASE_URL: pg, WORKERS: 'auto' }).workers).toBe(availableParallelism());
    expect(loadConfig({ WORKERS: '1' }).workers).toBe(1);
    for (const bad of ['0', 'two', '1.5', '257'])
      expect(() => loadConfig({ DATABASE_URL: pg, WORKERS: bad })).toThrow(/WORKERS: must be auto or a whole number/);
    for (const many of ['2', 'auto'])
      expect(() => loadConfig({ WORKERS: many })).toThrow(/WORKERS: .* needs PostgreSQL .*SQLite is for one process/);
  });

  it('names every bad variable and why', () => {
    let err: unknown;
    try {
      loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x', SIMULATOR_ENABLED: 'maybe' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^PORT: .*number/m);
    expect(problems).toMatch(/^LOG_LEVEL: /m);
    expect(problems).toMatch(/^DATABASE_URL: .*sqlite/m);
    expect(problems).toMatch(/^SIMULATOR_ENABLED: .*true or false/m);
  });

  it('requires MASTER_KEY and SECRET_KEY in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/MASTER_KEY: is required/);
    expect(() => loadConfig({ NODE_ENV: 'production', MASTER_KEY: 'm'.repeat(32) })).toThrow(/SECRET_KEY: is required/);
    expect(loadConfig({ NODE_ENV: 'production', MASTER_KEY: 'm'.repeat(32), SECRET_KEY: 's'.repeat(32) }).nodeEnv).toBe(
      'production',
    );
  });

  it('checks the CDN allowlist and that the base URL is on it', () => {
    expect(() => loadConfig({ MEDIA_CDN_ALLOWLIST: 'ftp://x' })).toThrow(/^ {2}- MEDIA_CDN_ALLOWLIST: /m);
    expect(() => loadConfig({ MEDIA_CDN_ALLOWLIST: 'http://127.0.0.1:*' })).toThrow(
      /MEDIA_CDN_BASE_URL: its origin must be on MEDIA_CDN_ALLOWLIST/,
    );
  });

  it('takes S3_PUBLIC_ENDPOINT for presigning the default bucket only with a bucket, as a URL', () => {
    const s3 = { S3_BUCKET: 'b', S3_ENDPOINT: 'http://minio:9000' };
    expect(loadConfig({ ...s3, S3_PUBLIC_ENDPOINT: 'http://127.0.0.1:9000' }).s3Default).toMatchObject({
      endpoint: 'http://minio:9000',
      presignEndpoint: 'http://127.0.0.1:9000',
    });
    expect(loadConfig(s3).s3Default?.presignEndpoint).toBeNull();
    expect(() => loadConfig({ ...s3, S3_PUBLIC_ENDPOINT: '127.0.0.1:9000' })).toThrow(
      /S3_PUBLIC_ENDPOINT: must be an http\(s\) URL/,
    );
    expect(() => loadConfig({ S3_PUBLIC_ENDPOINT: 'http://127.0.0.1:9000' })).toThrow(/S3_BUCKET: is required/);
  });

  it('rejects short keys', () => {
    expect(() => loadConfig({ MASTER_KEY: 'short' })).toThrow(/MASTER_KEY: must be at least 16/);
  });
});
