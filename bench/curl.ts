/**
 * The download client: curl writing to /dev/null. On a machine with few cores the client shares
 * them with the server under test; a Node client spends 3–4 CPU ms per MiB reading the socket,
 * curl about 0.4, which leaves the server the CPU a remote client would.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';

/** CPU seconds of this process's children that have exited and been waited for (Linux). */
function reapedChildrenCpuSeconds(): number {
  // cutime and cstime are the 14th and 15th fields after the command name.
  const rest = readFileSync('/proc/self/stat', 'utf8').split(') ').pop()!.split(' ');
  return (Number(rest[13]) + Number(rest[14])) / 100;
}

export interface CurlResult {
  status: number;
  bytes: number;
  contentLength: string;
  /** CPU seconds curl used. */
  cpu: number;
}

/** `POST url` with `headers`, the body counted and discarded. Rejects when curl fails (a cut body included). */
export async function curlPost(url: string, headers: Record<string, string>): Promise<CurlResult> {
  const before = reapedChildrenCpuSeconds();
  const args = [
    '--silent',
    '--show-error',
    '--output',
    '/dev/null',
    '--request',
    'POST',
    '--write-out',
    '%{http_code} %{size_download} %header{content-length}',
  ];
  for (const [k, v] of Object.entries(headers)) args.push('--header', `${k}: ${v}`);
  const child = spawn('curl', [...args, url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await Promise.race([
    once(child, 'exit'),
    once(child, 'error').then(([e]) =>
      Promise.reject(new Error(`could not run curl (the download client): ${(e as Error).message}`)),
    ),
  ])) as [number | null];
  if (code !== 0) throw new Error(`curl exited with ${String(code)}: ${err.trim()}`);
  const [status, bytes, contentLength] = out.trim().split(' ');
  return {
    status: Number(status),
    bytes: Number(bytes),
    contentLength: contentLength ?? '',
    cpu: reapedChildrenCpuSeconds() - before,
  };
}
