import type { FastifyInstance } from 'fastify';

/** `GET /metrics`, parsed: series (`name{label="v"}`, as printed) → value. */
export async function scrapeMetrics(app: FastifyInstance): Promise<Map<string, number>> {
  const res = await app.inject('/metrics');
  if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}: ${res.body}`);
  const series = new Map<string, number>();
  for (const line of res.body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}
