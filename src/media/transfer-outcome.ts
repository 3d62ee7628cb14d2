import {
  AppError,
  BusyError,
  CdnHostNotAllowedError,
  CdnUnavailableError,
  MediaExpiredError,
  MediaIntegrityError,
  MediaTooLargeError,
  StorageFailedError,
} from '../errors.js';
import type { TransferOutcome } from '../metrics/media-metrics.js';

/** How a transfer that failed with `err` ended (the `outcome` of its line and series). */
export function outcomeOf(err: unknown, shuttingDown: boolean): TransferOutcome {
  if (err instanceof MediaIntegrityError) return 'integrity_failed';
  if (err instanceof CdnUnavailableError || err instanceof CdnHostNotAllowedError) return 'cdn_failed';
  if (err instanceof MediaExpiredError) return 'expired';
  if (err instanceof StorageFailedError) return 'storage_failed';
  if (err instanceof MediaTooLargeError) return 'too_large';
  if (err instanceof BusyError) return 'busy';
  if (shuttingDown) return 'aborted_shutdown';
  if (err instanceof AppError && err.statusCode < 500) return 'rejected';
  return 'failed';
}
