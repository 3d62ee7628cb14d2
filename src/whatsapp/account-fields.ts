import type { AuthenticationCreds, Contact } from '@whiskeysockets/baileys';
// The JID helpers alone (~2 MB), not the Baileys index (~65 MB): this module loads at start-up.
import { jidDecode, jidNormalizedUser } from '@whiskeysockets/baileys/lib/WABinary/jid-utils.js';
import type { StatusFields } from './session-status.js';

const userOf = (jid: string | undefined, server: string): string | null => {
  const d = jid ? jidDecode(jid) : undefined;
  return d && d.server === server ? d.user : null;
};

/**
 * The linked account's fields as Titan shows them: phone number and LID (without device
 * suffix), push name, business name (business accounts only) and the phone's platform.
 */
export function accountFields(user: Contact | undefined, creds: AuthenticationCreds): StatusFields {
  const me = user ?? creds.me;
  if (!me) return {};
  const phone = userOf(me.id, 's.whatsapp.net') ?? userOf(me.phoneNumber, 's.whatsapp.net');
  const lid = me.lid ? jidNormalizedUser(me.lid) : me.id.endsWith('@lid') ? jidNormalizedUser(me.id) : null;
  return {
    phone_number: phone,
    push_name: me.name ?? me.notify ?? null,
    business_name: me.verifiedName ?? null,
    platform: creds.platform ?? null,
    lid,
  };
}

/** The account fields cleared (after a logout the session is no longer anyone's). */
export const NO_ACCOUNT: StatusFields = {
  phone_number: null,
  push_name: null,
  business_name: null,
  platform: null,
  lid: null,
};
