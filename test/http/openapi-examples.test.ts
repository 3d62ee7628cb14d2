import { globalRegistry, type z } from 'zod';
import { describe, expect, it } from 'vitest';
import { buildTestApp } from '../support/app.js';

describe('OpenAPI examples', () => {
  it('are in the document, and each one is valid for the schema it illustrates', async () => {
    const t = await buildTestApp('sqlite', { SIMULATOR_ENABLED: 'true' });
    try {
      const doc = (await t.app.inject('/docs/openapi.json')).json<{
        components: { schemas: Record<string, { examples?: unknown[] }> };
      }>();
      const withExamples = Object.entries(doc.components.schemas).filter(([, s]) => s.examples?.length);
      expect(withExamples.map(([n]) => n)).toEqual(
        expect.arrayContaining(['Media', 'PersistResult', 'Session', 'SimulatedMedia', 'Error', 'Webhook']),
      );
      // The zod schema registered under each component id must accept its examples.
      for (const [name, s] of withExamples) {
        const schema = globalRegistry._idmap.get(name) as z.ZodType | undefined;
        expect(schema, name).toBeDefined();
        for (const ex of s.examples!) expect(schema!.safeParse(ex).error?.issues, name).toBeUndefined();
      }
    } finally {
      await t.close();
    }
  });
});
