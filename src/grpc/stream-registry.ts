/** What the registry asks of a stream in progress (StreamEdge). */
export interface DrainableStream {
  drain(): void;
}

/**
 * The server's streams in progress (ModelStreamInfer), which it drains when it stops. A stream
 * whose admission (its key check) ends after the drain began is drained as it is added — ended
 * at once, as it has read nothing — rather than lasting until the shutdown deadline cuts it.
 */
export class StreamRegistry {
  private readonly streams = new Set<DrainableStream>();
  private draining = false;

  add(stream: DrainableStream): void {
    this.streams.add(stream);
    if (this.draining) stream.drain();
  }

  delete(stream: DrainableStream): void {
    this.streams.delete(stream);
  }

  /** Drains every stream in progress, and every one added from now on. */
  drain(): void {
    this.draining = true;
    for (const stream of [...this.streams]) stream.drain();
  }
}
