/**
 * The AWS SDK, loaded on first S3 use: it costs ~20 MB of RSS that a server whose accounts
 * never configure a bucket never needs. Import types with `import type`.
 */
import type * as ClientS3Module from '@aws-sdk/client-s3';
import type * as PresignerModule from '@aws-sdk/s3-request-presigner';

type ClientS3 = typeof ClientS3Module;
type Presigner = typeof PresignerModule;

let clientS3: Promise<ClientS3> | undefined;
let presigner: Promise<Presigner> | undefined;

export const loadClientS3 = (): Promise<ClientS3> => (clientS3 ??= import('@aws-sdk/client-s3'));
export const loadPresigner = (): Promise<Presigner> => (presigner ??= import('@aws-sdk/s3-request-presigner'));
