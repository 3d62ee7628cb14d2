import { Agent, request } from 'undici';
import { guardedLookup } from '../net/address-policy.js';
import { staticUrlProblem, type UrlRules } from './url-guard.js';

/** What one POST to a receiver came to. */
export interface SendResult {
  /** The receiver's status, or null when no response came. */
  statusCode: number | null;
  /** Why the attempt failed (network, timeout, refused address, non-2xx); null on success. */
  error: string | null;
  durationMs: number;
  /** For the server log only: what `error` leaves out (a refused address). */
  detail?: string;
}

export type WebhookSender = ReturnType<typeof createWebhookSender>;

/**
 * POSTs webhook bodies. The URL rules are applied again here, at delivery time: the scheme and
 * literal addresses before connecting, and resolved names inside the socket's `lookup`.
 * Redirects are not followed (a 3xx is a failed attempt).
 */
export function createWebhookSender(opts: { rules: UrlRules; timeoutMs: number }) {
  const agent = new Agent({
    connect: { timeout: opts.timeoutMs, ...(opts.rules.allowPrivateNetworks ? {} : { lookup: guardedLookup() }) },
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    keepAliveTimeout: 4_000,
  });

  return {
    async send(url: string, headers: Record<string, string>, body: string, stop: AbortSignal): Promise<SendResult> {
      const started = performance.now();
      const took = () => Math.round(performance.now() - started);
      const u = new URL(url);
      const problem = staticUrlProblem(u, opts.rules);
      if (problem) return { statusCode: null, error: `address not allowed: ${problem}`, durationMs: 0 };
      const timeout = AbortSignal.timeout(opts.timeoutMs);
      try {
        const res = await request(u, {
          method: 'POST',
          headers,
          body,
          dispatcher: agent,
          signal: AbortSignal.any([timeout, stop]),
        });
        // Read (a bounded amount of) the answer so the connection can be reused.
        await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
        const ok = res.statusCode >= 200 && res.statusCode < 300;
        return { statusCode: res.statusCode, error: ok ? null : `HTTP ${res.statusCode}`, durationMs: took() };
      } catch (err) {
        const e = err as { cause?: { code?: string; message?: string } };
        const blocked = e.cause?.code === 'ADDRESS_BLOCKED' ? { detail: e.cause.message ?? '' } : {};
        return {
          statusCode: null,
          error: describe(err, timeout.aborted, opts.timeoutMs),
          durationMs: took(),
          ...blocked,
        };
      }
    },
    close: () => agent.close(),
  };
}

function describe(err: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `timed out after ${timeoutMs} ms`;
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const inner = e.cause?.message ? e.cause : e;
  // The delivery log is the tenant's: no resolved address in it (the server log has it).
  if (inner.code === 'ADDRESS_BLOCKED') return 'address not allowed: the host resolved to a non-public address';
  return [inner.code, inner.message].filter(Boolean).join(': ') || 'request failed';
}
