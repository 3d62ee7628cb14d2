import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { assertPostgres, DIALECTS, dropRunSchemas } from './databases.js';
import { readObservations, startObserving } from './observed-responses.js';

export interface S3Endpoint {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3: S3Endpoint;
  }
}

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;

const HOW_TO =
  'The S3 tests need an S3-compatible endpoint. Set TEST_S3_ENDPOINT (+ TEST_S3_ACCESS_KEY_ID, TEST_S3_SECRET_ACCESS_KEY, TEST_S3_REGION), ' +
  'e.g. the MinIO service of docker-compose.yml (`docker compose up -d minio`, then TEST_S3_ENDPOINT=http://127.0.0.1:9000 ' +
  'TEST_S3_ACCESS_KEY_ID=minioadmin TEST_S3_SECRET_ACCESS_KEY=minioadmin), or run on Debian, where the suite starts Ceph RADOS Gateway itself (scripts/s3-gateway-start.sh).';

/**
 * Checks that PostgreSQL answers (unless TEST_DIALECTS leaves it out), then finds the S3 endpoint for the suite: TEST_S3_ENDPOINT when set, else a Ceph RADOS Gateway
 * started here (Debian), else a failure that says how to provide one. A gateway this run
 * started is stopped when the run ends.
 */
export default async function setup(project: TestProject) {
  // Checked once, before any test: a missing server is one clear failure, not one per suite.
  if (DIALECTS.includes('postgres')) await assertPostgres();
  // Workers inherit the environment: each test app records what it answers there.
  const observed = mkdtempSync(join(tmpdir(), 'titan-observed-'));
  startObserving(observed);
  const stopS3 = await setupS3(project);
  return async () => {
    await stopS3?.();
    if (DIALECTS.includes('postgres')) await dropRunSchemas();
    checkObservedResponses(observed);
  };
}

/**
 * The final check of the observed-responses test: every (route, status, content type) any
 * test saw must be declared by the OpenAPI document of the app that answered it.
 */
function checkObservedResponses(dir: string) {
  const all = readObservations(dir);
  const missing = all
    .filter((o) => !o.documented)
    .map((o) => `${o.route} → ${o.status} ${o.contentType ?? '(no body)'}`);
  console.log(
    `observed responses: ${all.length} distinct (route, status, content type), ${missing.length} undocumented`,
  );
  if (missing.length > 0)
    throw new Error(`Responses the OpenAPI document does not declare:\n  ${missing.sort().join('\n  ')}`);
}

async function setupS3(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const env = process.env;
  if (env.TEST_S3_ENDPOINT) {
    project.provide('s3', {
      endpoint: env.TEST_S3_ENDPOINT,
      region: env.TEST_S3_REGION ?? 'us-east-1',
      accessKeyId: env.TEST_S3_ACCESS_KEY_ID ?? 'minioadmin',
      secretAccessKey: env.TEST_S3_SECRET_ACCESS_KEY ?? 'minioadmin',
    });
    return;
  }
  if (process.platform !== 'linux' || !existsSync('/usr/bin/apt-get')) throw new Error(HOW_TO);
  // A gateway that is already up belongs to someone else (a dev server, CI): leave it running.
  const wasRunning = await fetch('http://127.0.0.1:7480/', { signal: AbortSignal.timeout(1000) }).then(
    () => true,
    () => false,
  );
  let out: string;
  try {
    ({ stdout: out } = await run('bash', [`${ROOT}scripts/s3-gateway-start.sh`], {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    }));
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`Could not start the S3 gateway: ${e.message}\n${e.stderr ?? ''}\n${HOW_TO}`, { cause: err });
  }
  const vars = Object.fromEntries([...out.matchAll(/^(TEST_S3_[A-Z_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  project.provide('s3', {
    endpoint: vars.TEST_S3_ENDPOINT!,
    region: vars.TEST_S3_REGION ?? 'us-east-1',
    accessKeyId: vars.TEST_S3_ACCESS_KEY_ID!,
    secretAccessKey: vars.TEST_S3_SECRET_ACCESS_KEY!,
  });
  return async () => {
    if (!wasRunning && env.KEEP_S3_GATEWAY !== '1')
      await run('bash', [`${ROOT}scripts/s3-gateway-stop.sh`], { cwd: ROOT }).catch(() => undefined);
  };
}
