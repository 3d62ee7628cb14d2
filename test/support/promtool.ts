import { execFile } from 'node:child_process';

/** Runs promtool (Debian's `prometheus` package); `input` goes to its stdin. */
export async function promtool(args: string[], input?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile('promtool', args, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown }) | null;
      if (e && e.code === 'ENOENT')
        return reject(
          new Error(
            "promtool is not installed: it comes with Debian's `prometheus` package (apt-get install prometheus).",
          ),
        );
      resolve({ code: typeof e?.code === 'number' ? e.code : e ? 1 : 0, out: `${stdout}${stderr}` });
    });
    child.stdin!.end(input ?? '');
  });
}
