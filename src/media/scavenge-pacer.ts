/**
 * Keeps the garbage of transfers small. Every socket read and every decipher step hands back a
 * fresh 64 KiB buffer whose memory lives outside V8's heap. A transfer creates few JS objects, so
 * the young generation fills slowly and dead buffers pile up until V8's external-memory trigger
 * (64 MB) collects them: a 1 GiB download peaked ~35 MB above idle. With pacing on, a minor GC
 * (scavenge) after every 2 MiB moved frees them while they are young. That saves CPU as well as
 * memory: malloc hands the freed buffers out again while their pages are mapped and in cache
 * (every 16 MiB: half the MiB per CPU second and 7x the page faults; every 4 MiB: 6–14% less
 * than every 2; every 1 MiB: no better).
 */
const EVERY_BYTES = 2 * 1024 * 1024;

let gc: ((options: { type: 'minor' }) => void) | null = null;
let moved = 0;
let scheduled = false;

/**
 * Turns pacing on when the process runs with `--expose-gc` (the `npm start` command and the
 * image's CMD pass it, with the V8 flags below; tests and tools run without and pace nothing).
 * The flags are process flags, not flipped after start, and both were measured on 1 GiB
 * transfers (docs/decisions.md):
 * - `--no-allocation-site-pretenuring`: V8 sees many objects of a site survive one scavenge and
 *   then allocates that site's objects straight in the old generation, where only a full GC
 *   frees them (the heap grew ~30 MB over a download);
 * - `--heap-growing-percent=20`: objects that outlive a few scavenges, such as those of an S3
 *   request in flight, are promoted, and the default growth factor let ~30 MB of them
 *   accumulate before a full GC during a persist.
 */
export function enableScavengePacing(): boolean {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') gc = exposed as (options: { type: 'minor' }) => void;
  return gc !== null;
}

// Runs between I/O callbacks, when no chunk is on the stack: what a scavenge finds alive is
// promoted to the old generation.
function scavenge(): void {
  scheduled = false;
  gc?.({ type: 'minor' });
}

/** Counts `n` bytes moved by a transfer; schedules a scavenge once enough have gone by. */
export function noteBytesMoved(n: number): void {
  if (!gc) return;
  moved += n;
  if (moved < EVERY_BYTES || scheduled) return;
  moved = 0;
  scheduled = true;
  setImmediate(scavenge);
}
