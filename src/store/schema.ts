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
  status: string;
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
  type: string;
  mime_type: string;
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
  created_at: string;
  updated_at: string;
}

export interface AccountSettingsTable {
  account_id: string;
  /** JSON of StoredS3Settings (secret sealed), or null for the server default. */
  s3: string | null;
  auto_persist: number;
  download_mode: string;
  version: number;
  updated_at: string;
}

export interface Database {
  accounts: AccountTable;
  api_keys: ApiKeyTable;
  sessions: SessionTable;
  media: MediaTable;
  account_settings: AccountSettingsTable;
}
