import { Writable } from 'node:stream';

/** S3 allows at most this many parts in one multipart upload. */
export const MAX_PARTS = 10_000;

export interface CompletedPart {
  PartNumber: number;
  ETag: string;
}

/** The storage calls a {@link MultipartSink} makes; each rejects on failure. */
export interface PartStore {
  /** The whole object in one request: used when everything fitted in the first part. */
  put(body: Buffer): Promise<void>;
  /** Starts the multipart upload; resolves with its id. Called once, before the first part. */
  create(): Promise<string>;
  /** Resolves with the part's ETag. */
  uploadPart(uploadId: string, partNumber: number, body: Buffer): Promise<string>;
  complete(uploadId: string, parts: CompletedPart[]): Promise<void>;
}

export interface MultipartSinkOptions {
  partSize: number;
  /** Parts uploading at once; one more buffer fills meanwhile. */
  queueSize: number;
  store: PartStore;
}

/**
 * A Writable that turns a byte stream into S3 parts. At most `queueSize` parts upload at once
 * while one more fills; their `queueSize + 1` buffers of `partSize` are reused from part to part,
 * so a transfer holds a fixed amount of memory and leaves no part-sized garbage behind. Writes
 * wait while the queue is full (backpressure to the source).
 *
 * A part is only sent once a byte beyond it arrives, so a stream that fits in one part becomes a
 * single `put` after the source ended cleanly (for media: after its MAC checked out), and the
 * multipart upload completes only in `_final`. The sink never aborts anything: on failure the
 * caller waits for {@link settled} and aborts {@link uploadId}.
 */
export class MultipartSink extends Writable {
  readonly #partSize: number;
  readonly #queueSize: number;
  readonly #store: PartStore;
  readonly #free: Buffer[] = [];
  #allocated = 0;
  #current: Buffer | null = null;
  #filled = 0;
  #nextPart = 1;
  #created: Promise<string> | null = null;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #done: CompletedPart[] = [];
  /** A write waiting for a free buffer. */
  #waiting: (() => void) | null = null;
  #uploadId: string | null = null;
  #storageError: Error | undefined = undefined;

  constructor(opts: MultipartSinkOptions) {
    super();
    this.#partSize = opts.partSize;
    this.#queueSize = opts.queueSize;
    this.#store = opts.store;
  }

  /** The multipart upload's id, once one was started. */
  get uploadId(): string | null {
    return this.#uploadId;
  }

  /** The storage's error when the storage (rather than the source) failed the upload. */
  get storageError(): Error | undefined {
    return this.#storageError;
  }

  /** Resolves once no part upload is running any more (whatever their outcome). */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    let offset = 0;
    const fill = (): void => {
      while (offset < chunk.length) {
        if (this.destroyed) return;
        if (this.#current !== null && this.#filled === this.#partSize) {
          // A full part goes out once a byte beyond it arrives and a queue slot is free.
          if (this.#inFlight.size >= this.#queueSize) {
            this.#waiting = fill;
            return;
          }
          this.#ship();
        }
        if (this.#current === null) {
          const buffer = this.#take();
          if (buffer === null) return this.#fail(new Error('MultipartSink: no free part buffer.'));
          this.#current = buffer;
          this.#filled = 0;
        }
        const n = chunk.copy(this.#current, this.#filled, offset);
        this.#filled += n;
        offset += n;
      }
      callback();
    };
    fill();
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.#finish().then(
      () => callback(),
      (err: unknown) => {
        this.#storageError ??= asError(err);
        callback(this.#storageError);
      },
    );
  }

  async #finish(): Promise<void> {
    if (this.#nextPart === 1) {
      await this.#store.put(this.#current === null ? Buffer.alloc(0) : this.#current.subarray(0, this.#filled));
      return;
    }
    if (this.#current !== null && this.#filled > 0) {
      while (this.#inFlight.size >= this.#queueSize) await Promise.race([...this.#inFlight]);
      this.#ship();
    }
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
    // A part that could not even be sent (too many parts) failed the sink without a rejection.
    if (this.#storageError !== undefined) throw this.#storageError;
    const parts = [...this.#done].sort((a, b) => a.PartNumber - b.PartNumber);
    await this.#store.complete(await this.#created!, parts);
  }

  /** A free buffer; with at most queueSize parts in flight, one of queueSize + 1 always is. */
  #take(): Buffer | null {
    const reused = this.#free.pop();
    if (reused) return reused;
    if (this.#allocated > this.#queueSize) return null;
    this.#allocated += 1;
    return Buffer.allocUnsafe(this.#partSize);
  }

  /** Uploads the current buffer as the next part; the buffer returns to the pool afterwards. */
  #ship(): void {
    const buffer = this.#current!;
    const body = buffer.subarray(0, this.#filled);
    const partNumber = this.#nextPart++;
    this.#current = null;
    if (partNumber > MAX_PARTS) {
      this.#fail(
        new Error(`The file needs more than ${MAX_PARTS} parts of ${this.#partSize} bytes; raise S3_PART_SIZE_BYTES.`),
      );
      return;
    }
    this.#created ??= this.#store.create().then((id) => (this.#uploadId = id));
    const upload = this.#created
      .then((id) => this.#store.uploadPart(id, partNumber, body))
      .then((ETag) => void this.#done.push({ PartNumber: partNumber, ETag }))
      .finally(() => {
        // Only now is the SDK done with the bytes, so only now may they be overwritten.
        this.#inFlight.delete(upload);
        this.#free.push(buffer);
        const resume = this.#waiting;
        this.#waiting = null;
        resume?.();
      });
    this.#inFlight.add(upload);
    upload.catch((err: unknown) => this.#fail(err));
  }

  #fail(err: unknown): void {
    this.#storageError ??= asError(err);
    this.destroy(this.#storageError);
  }
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));
