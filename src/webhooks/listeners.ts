import type { Clock } from '../clock.js';
import type { PersistHook } from '../media/persist-service.js';
import type { SessionStatusListener } from '../sessions/session-events.js';
import type { Trx } from '../store/db.js';
import { findSettings } from '../store/repositories/settings.js';
import type { IngestListener } from '../whatsapp/ingest.js';
import { mediaPersistedPayload, mediaPersistFailedPayload, messageReceivedPayload } from './events.js';
import type { Outbox } from './outbox.js';

/** An auto-persist to queue with a new message's media. */
export interface NewPersistJob {
  accountId: string;
  mediaId: string;
  sessionName: string;
  /** The held `message.received` to release when the job ends (null: no webhook wanted it). */
  eventId: string | null;
  /** Why it was queued: on arrival (auto-persist, default) or ahead of the CDN expiry. */
  trigger?: 'auto' | 'expiry';
  /** When it may run (default now): the expiry sweep staggers accounts so they take turns. */
  runAt?: string;
}

/**
 * The seams through which events enter the outbox. Each runs inside the transaction of what it
 * reports (ingest, status change, persist result), so the event commits or rolls back with it.
 */
export function createEventListeners(deps: {
  outbox: Outbox;
  clock: Clock;
  enqueuePersist: (trx: Trx, job: NewPersistJob) => Promise<void>;
  /** Asks the dispatcher to look soon (best effort: the poll interval is the guarantee). */
  notify: () => void;
}) {
  /**
   * `message.received` for every new message. With auto-persist on, media also queue a persist
   * job, and the event is held until that job ends (then it carries `mediaUrl` or `persistError`).
   */
  const onIngest: IngestListener = async (trx, { session, message, media, mediaId }) => {
    const auto = media !== null && mediaId !== null && (await findSettings(trx, session.accountId))?.auto_persist === 1;
    const eventId = await deps.outbox.write(trx, {
      accountId: session.accountId,
      session: session.name,
      event: 'message.received',
      payload: messageReceivedPayload(message, media, mediaId, Math.floor(deps.clock.now().getTime() / 1000)),
      mediaId,
      held: auto,
    });
    if (auto)
      await deps.enqueuePersist(trx, {
        accountId: session.accountId,
        mediaId: mediaId,
        sessionName: session.name,
        eventId,
      });
  };

  /** `session.status` on every status change. */
  const onSessionStatus: SessionStatusListener = async (trx, c) => {
    const payload = { status: c.status, previousStatus: c.previousStatus, statusReason: c.statusReason, at: c.at };
    if (
      await deps.outbox.write(trx, {
        accountId: c.session.accountId,
        session: c.session.name,
        event: 'session.status',
        payload,
      })
    )
      deps.notify();
  };

  /** `media.persisted` / `media.persist_failed` for every persist, on demand or automatic. */
  const onPersistOutcome: PersistHook = async (trx, o) => {
    const base = { accountId: o.accountId, session: o.session, mediaId: o.media.id };
    const written = o.ok
      ? await deps.outbox.write(trx, {
          ...base,
          event: 'media.persisted',
          payload: mediaPersistedPayload(o.media, o.result, o.trigger),
        })
      : await deps.outbox.write(trx, {
          ...base,
          event: 'media.persist_failed',
          payload: mediaPersistFailedPayload(o.media, o.error, o.trigger),
        });
    if (written) deps.notify();
  };

  return { onIngest, onSessionStatus, onPersistOutcome };
}
