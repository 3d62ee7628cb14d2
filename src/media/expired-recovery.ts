import { MediaExpiredError } from '../errors.js';
import type { MediaTable } from '../store/schema.js';

/**
 * Asks for an expired media to be uploaded again (by the sender's phone, through its session),
 * saves the new CDN location and returns it; throws MediaExpiredError saying why it could not.
 */
export type RecoverExpired = (
  accountId: string,
  row: MediaTable,
) => Promise<{ directPath: string | null; url: string | null }>;

/**
 * Opens a media file from the CDN with `open`; when the CDN says it is gone and `recover` is
 * given, has it uploaded again and tries exactly once more at the new location.
 */
export async function openRecovering<T>(
  open: (row: MediaTable) => Promise<T>,
  accountId: string,
  row: MediaTable,
  recover: RecoverExpired | undefined,
): Promise<T> {
  try {
    return await open(row);
  } catch (err) {
    if (!(err instanceof MediaExpiredError) || !recover) throw err;
  }
  const ref = await recover(accountId, row);
  try {
    return await open({ ...row, direct_path: ref.directPath, url: ref.url });
  } catch (err) {
    if (err instanceof MediaExpiredError)
      throw new MediaExpiredError(
        "The media is still gone from the WhatsApp CDN after the sender's phone uploaded it again.",
        { cause: err },
      );
    throw err;
  }
}
