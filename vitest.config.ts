import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` needs no service (no database server, no S3) and runs alone with
 * `npm run test:unit`; `integration` is everything else and starts or finds the services it
 * needs (test/support/global-setup.ts). `npm test` runs both. A new test file lands in
 * `integration` unless it is listed here.
 */
const UNIT = [
  'test/architecture.test.ts',
  'test/config.test.ts',
  'test/docs.test.ts',
  'test/docker.test.ts',
  'test/errors-catalogue.test.ts',
  'test/log-lines.test.ts',
  'test/media/baileys-crosscheck.test.ts',
  'test/media/cdn-allowlist.test.ts',
  'test/media/cdn-client.test.ts',
  'test/media/decrypt-stream.test.ts',
  'test/media/range-decrypt.test.ts',
  'test/media/test-vectors.test.ts',
  'test/storage/multipart-sink.test.ts',
  'test/whatsapp/buffer-json.test.ts',
  'test/whatsapp/disconnect-reason.test.ts',
  'test/whatsapp/extract-media.test.ts',
  'test/whatsapp/session-command.test.ts',
];

export default defineConfig({
  test: {
    // Every log line the apps and server processes write is checked (test/support/log-lines.ts).
    setupFiles: ['test/support/log-check-setup.ts'],
    testTimeout: 60_000,
    // `expect.poll` waits on a signal; its default second is short on a busy machine.
    expect: { poll: { timeout: 10_000 } },
    hookTimeout: 120_000,
    pool: 'forks',
    // Most test files spend their time waiting on servers, processes and deadlines, not on the
    // CPU (the whole suite uses under half of two cores): two files per core, not one less than
    // the cores (vitest's default, a single worker on a two-core machine).
    maxWorkers: Math.max(2, availableParallelism() * 2),
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: UNIT,
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
