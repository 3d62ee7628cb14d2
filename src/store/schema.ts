import type {
  CommandKind,
  CommandState,
  DeliveryState,
  DesiredState,
  DownloadMode,
  MediaType,
  PersistJobState,
  RetryPolicy,
  SessionStatus,
} from './enums.js';

/**
 * Row types of every table. Timestamps are ISO 8601 strings (they sort lexicographically, and
 * read the same on SQLite and PostgreSQL); booleans are 0/1 integers for the same reason.
 */
export interface AccountTable {
  id: string;
  name: string;
  created_at: string;
}

export interface ApiKeyTable {
  id: string;
  account_id: string;
  label: string;
  /** First characters of the secret, shown in listings so people can tell keys apart. */
  prefix: string;
  /** SHA-256 (hex) of the whole secret; the secret itself is never stored. */
  hash: string;
  /** JSON array of scopes. */
  scopes: string;
  is_active: number;
  expires_at: string | null;
  last_used_at: string | null;
  created_at: string;
}

export interface SessionTable {
  id: string;
  account_id: string;
  name: string;
  status: SessionStatus;
  status_reason: string | null;
  phone_number: string | null;
  push_name: string | null;
  business_name: string | null;
  platform: string | null;
  lid: string | null;
  /** JSON of the proxy settings, or null. */
  proxy: string | null;
  /** JSON of the free-form session config, or null. */
  config: string | null;
  /** `running` or `stopped`: what the session should be doing (running ones resume after a restart). */
  desired_state: DesiredState;
  /** The QR code to scan while pairing, else null (kept here so every process can show it). */
  qr: string | null;
  created_at: string;
  updated_at: string;
}

export interface MediaTable {
  id: string;
  account_id: string;
  session_id: string;
  message_id: string;
  remote_jid: string | null;
  from_me: number;
  participant: string | null;
  type: MediaType;
  mime_type: string;
  /** The message's own type when it failed the RFC 6838 check (mime_type is then application/octet-stream). */
  declared_mime_type: string | null;
  file_length: number | null;
  file_name: string | null;
  caption: string | null;
  /** The 32-byte media key, sealed with SECRET_KEY (see crypto/secret-box.ts). */
  media_key: string;
  direct_path: string | null;
  url: string | null;
  file_sha256: string | null;
  file_enc_sha256: string | null;
  media_key_timestamp: number | null;
  /** SHA-256 (hex) of the plaintext as we verified it while streaming. */
  sha256: string | null;
  persisted_at: string | null;
  s3_bucket: string | null;
  s3_key: string | null;
  s3_size: number | null;
  /** The message key and media content (what a re-upload request needs), BufferJSON, sealed. */
  wa_message: string | null;
  created_at: string;
  updated_at: string;
  /** Who sent it: the participant in groups, else the chat's JID. */
  sender: string | null;
  width: number | null;
  height: number | null;
  duration_seconds: number | null;
  /** 0/1, or null when the message does not say. */
  is_voice_note: number | null;
  is_animated: number | null;
  page_count: number | null;
  /** 1 when media_thumbnails holds the message's JPEG preview. */
  has_thumbnail: number | null;
  /** Estimated end of the CDN copy: media key timestamp (else arrival) + 14 days. */
  cdn_expires_at: string | null;
  /** When the media key was wiped (expired, never persisted): nothing can be decrypted any more. */
  key_wiped_at: string | null;
  /** Tombstone: the owner deleted the media; the id answers 410 from then on. */
  deleted_at: string | null;
  /** When retention (or a delete) removed the stored object. */
  object_deleted_at: string | null;
  /** When the persist-before-expiry sweep queued this media (it is queued once, never again). */
  expiry_queued_at: string | null;
}

export interface MediaThumbnailTable {
  media_id: string;
  /** Base64 of the JPEG. */
  jpeg: string;
}

/** An object to remove from a bucket, removed in batches by the deletion worker. */
export interface MediaDeletionTable {
  id: string;
  account_id: string;
  media_id: string | null;
  bucket: string;
  key: string;
  /** delete | retention | session */
  reason: string;
  attempts: number;
  next_run_at: string;
  lease_owner: string | null;
  lease_expires_at: string | null;
  last_error: string | null;
  created_at: string;
}

/** Who runs a background sweep right now (one process at a time), and when it last ran. */
export interface SweepClaimTable {
  name: string;
  owner: string | null;
  expires_at: string | null;
  last_run_at: string | null;
}

export interface AccountSettingsTable {
  account_id: string;
  /** JSON of StoredS3Settings (secret sealed), or null for the server default. */
  s3: string | null;
  auto_persist: number;
  download_mode: DownloadMode;
  /** JSON `{enabled, hoursBefore}`, or null (off). */
  persist_before_expiry: string | null;
  /** JSON `{persistedDays, recordsDays}`, or null (keep everything). */
  retention: string | null;
  version: number;
  updated_at: string;
}

/** One row per ingested (session, message): makes ingest, and so `message.received`, idempotent. */
export interface MessageTable {
  session_id: string;
  message_id: string;
  account_id: string;
  created_at: string;
}

export interface WebhookTable {
  id: string;
  account_id: string;
  url: string;
  label: string | null;
  /** Session name this webhook is limited to, or null for every session. */
  session: string | null;
  /** JSON array of event names; `["*"]` for all. */
  events: string;
  /** The HMAC key, sealed with SECRET_KEY. */
  hmac_key: string;
  /** The key before the last rotation (sealed), still signing until `hmac_key_previous_until`. */
  hmac_key_previous: string | null;
  hmac_key_previous_until: string | null;
  retry_attempts: number;
  retry_delay_ms: number;
  retry_policy: RetryPolicy;
  /** JSON array of `{name, value}`, sealed with SECRET_KEY (values may be credentials). */
  headers: string;
  enabled: number;
  created_at: string;
  updated_at: string;
}

/** The outbox: one row per event, written in the transaction of what it reports. */
export interface WebhookEventTable {
  id: string;
  account_id: string;
  session: string | null;
  event: string;
  /** JSON of the payload. */
  payload: string;
  /** The media the event is about; its `mediaUrl` is minted afresh at delivery. */
  media_id: string | null;
  /** 1 while an auto-persist job must end before this event may go out. */
  held: number;
  created_at: string;
}

/** One event to one webhook: state, retry schedule and lease. */
export interface WebhookDeliveryTable {
  id: string;
  webhook_id: string;
  event_id: string;
  account_id: string;
  /** held | pending | delivered | failed */
  state: DeliveryState;
  attempts: number;
  next_attempt_at: string | null;
  lease_owner: string | null;
  lease_expires_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  redelivery_of: string | null;
  created_at: string;
  updated_at: string;
}

/** The delivery log: one row per HTTP attempt. */
export interface WebhookAttemptTable {
  id: string;
  delivery_id: string;
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  started_at: string;
  next_retry_at: string | null;
}

/** Auto-persist jobs: one per media, run by the job worker with a lease. */
export interface PersistJobTable {
  id: string;
  account_id: string;
  media_id: string;
  session_name: string;
  /** The held `message.received` event released when the job ends, if any webhook wanted it. */
  event_id: string | null;
  /** pending | done | failed */
  state: PersistJobState;
  /** Runs that ended (success, failure or retry) and were recorded. */
  attempts: number;
  /** Times the job was claimed; more claims than attempts means a run died mid-way. */
  claims: number;
  next_run_at: string;
  lease_owner: string | null;
  lease_expires_at: string | null;
  last_error_code: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  /** auto (on arrival) or expiry (persist-before-expiry); null on jobs older than the column. */
  trigger: string | null;
}

/** Baileys credentials of a session: BufferJSON of AuthenticationCreds, sealed with SECRET_KEY. */
export interface WaAuthCredsTable {
  session_id: string;
  creds: string;
  updated_at: string;
}

/** Baileys signal keys (pre-keys, sessions, sender keys, app-state keys, …), each sealed. */
export interface WaAuthKeyTable {
  session_id: string;
  type: string;
  key_id: string;
  value: string;
}

/** Which process runs a session, until when (renewed periodically; see docs/sessions.md). */
export interface SessionLeaseTable {
  session_id: string;
  owner_id: string;
  expires_at: string;
}

/** A request for the process that runs a session (stop, logout, pairing code, re-upload). */
export interface SessionCommandTable {
  id: string;
  session_id: string;
  /** The lease owner the command is addressed to. */
  owner_id: string;
  kind: CommandKind;
  /** JSON arguments, or null. */
  payload: string | null;
  /** pending | running | done | failed | abandoned */
  state: CommandState;
  /** JSON of the result, or of `{code, statusCode, message}` when it failed. */
  result: string | null;
  created_at: string;
  updated_at: string;
}

/**
 * An upload into a bucket, recorded before it starts: the cross-process claim on its media and
 * what any process needs to abort it once its owner's lease lapsed.
 */
export interface UploadTable {
  media_id: string;
  /** New for every claim, so a waiter can tell the run it waits on from a later one. */
  claim_id: string;
  account_id: string;
  bucket: string;
  object_key: string;
  /** The multipart upload's id once CreateMultipartUpload answered; null before (or for a single PUT). */
  upload_id: string | null;
  owner: string;
  /** running | failed */
  state: string;
  lease_expires_at: string;
  /** 1 when a failed run could not confirm its abort: the sweeper aborts it again. */
  needs_abort: number;
  error_code: string | null;
  error_status: number | null;
  error_message: string | null;
  created_at: string;
  updated_at: string;
}

export interface Database {
  accounts: AccountTable;
  api_keys: ApiKeyTable;
  sessions: SessionTable;
  media: MediaTable;
  account_settings: AccountSettingsTable;
  wa_auth_creds: WaAuthCredsTable;
  wa_auth_keys: WaAuthKeyTable;
  session_leases: SessionLeaseTable;
  session_commands: SessionCommandTable;
  messages: MessageTable;
  webhooks: WebhookTable;
  webhook_events: WebhookEventTable;
  webhook_deliveries: WebhookDeliveryTable;
  webhook_attempts: WebhookAttemptTable;
  persist_jobs: PersistJobTable;
  media_thumbnails: MediaThumbnailTable;
  media_deletions: MediaDeletionTable;
  sweep_claims: SweepClaimTable;
  uploads: UploadTable;
}
