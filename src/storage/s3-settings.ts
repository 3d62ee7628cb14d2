/** Where and how media objects are stored: an S3-compatible bucket. */
export interface S3Settings {
  /** Endpoint URL for non-AWS storage (MinIO, Ceph, R2, …); null for AWS itself. */
  endpoint: string | null;
  region: string;
  bucket: string;
  accessKeyId: string | null;
  secretAccessKey: string | null;
  forcePathStyle: boolean;
  /** Prepended to every object key (e.g. `whatsapp/`). */
  keyPrefix: string;
  /** When set, object URLs are `<publicBaseUrl>/<key>` instead of presigned URLs. */
  publicBaseUrl: string | null;
  presignExpiresSeconds: number;
  /**
   * Endpoint that presigned URLs name, when clients reach the storage at another address than
   * this server does (a container network). Server default only (S3_PUBLIC_ENDPOINT).
   */
  presignEndpoint?: string | null;
}

/** A bucket to use, with an identity for caching its client. */
export interface StorageTarget {
  /** Changes whenever the settings change (account id + settings version, or "default"). */
  cacheKey: string;
  settings: S3Settings;
}
