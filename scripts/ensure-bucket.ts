// Creates a bucket if it does not exist yet (used by the dev script for its local S3).
import { CreateBucketCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';

const [endpoint, region, bucket, accessKeyId, secretAccessKey] = process.argv.slice(2);
if (!endpoint || !region || !bucket || !accessKeyId || !secretAccessKey) {
  console.error('usage: ensure-bucket <endpoint> <region> <bucket> <accessKeyId> <secretAccessKey>');
  process.exit(2);
}
const s3 = new S3Client({
  endpoint,
  region,
  forcePathStyle: true,
  credentials: { accessKeyId, secretAccessKey },
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
try {
  await s3.send(new HeadBucketCommand({ Bucket: bucket }));
} catch {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
}
s3.destroy();
