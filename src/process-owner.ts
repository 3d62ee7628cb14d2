import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** Names this process in the leases it holds, so it only ever settles its own claims. */
export const processOwner = (): string => `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
