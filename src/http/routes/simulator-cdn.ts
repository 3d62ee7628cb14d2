import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MediaNotFoundError, RangeNotSatisfiableError } from '../../errors.js';
import { parseRangeHeader, resolveRange } from '../../media/http-range.js';
import type { Simulator } from '../../simulator/simulator.js';
import { errorResponses } from '../schemas/common.js';
import { binaryResponse } from '../schemas/responses.js';

const CDN_HEADERS = {
  'Content-Length': { type: 'integer', description: 'Bytes in this response.' },
  'Accept-Ranges': { type: 'string', description: 'Always `bytes`.' },
} as const;

/** Where the simulated CDN serves its files: the only part of this server the CDN client may fetch. */
export const SIMULATOR_CDN_PREFIX = '/simulator/cdn/';

/** The simulated WhatsApp CDN: serves encrypted files (with Range, as the real one does). */
export const simulatorCdnRoutes: FastifyPluginAsyncZod<{ simulator: Simulator }> = async (app, { simulator }) => {
  app.get(
    `${SIMULATOR_CDN_PREFIX}:file`,
    {
      schema: {
        tags: ['simulator'],
        operationId: 'getSimulatedCdnFile',
        summary: 'Simulated CDN: an encrypted media file',
        params: z.object({ file: z.string().max(64) }),
        response: {
          200: binaryResponse('The encrypted file.', ['application/octet-stream'], CDN_HEADERS),
          206: binaryResponse('A slice of it.', ['application/octet-stream'], {
            ...CDN_HEADERS,
            'Content-Range': { type: 'string', description: '`bytes a-b/size`.' },
          }),
          ...errorResponses(404, 416),
        },
      },
    },
    async (req, reply) => {
      const file = await simulator.cdnFile(req.params.file);
      if (!file) throw new MediaNotFoundError();
      const range = parseRangeHeader(req.headers.range);
      let start = 0;
      let end = file.size - 1;
      if (range.kind !== 'none') {
        const r = resolveRange(range, file.size);
        if (!r) throw new RangeNotSatisfiableError(file.size);
        ({ start, end } = r);
        void reply.code(206).header('content-range', `bytes ${start}-${end}/${file.size}`);
      }
      void reply.headers({
        'content-type': 'application/octet-stream',
        'content-length': String(end - start + 1),
        'accept-ranges': 'bytes',
      });
      if (file.size === 0) return reply.send('');
      return reply.send(simulator.readCdnFile(file.path, start, end) as unknown as string);
    },
  );
};
