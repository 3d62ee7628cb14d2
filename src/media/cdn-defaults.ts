/** WhatsApp's media CDN hosts, over https only. Message fields must never steer us elsewhere. */
export const DEFAULT_CDN_ALLOWLIST_SPEC =
  'https://mmg.whatsapp.net,https://*.whatsapp.net,https://*.cdn.whatsapp.net,https://*.fna.whatsapp.net';
