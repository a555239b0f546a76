import type { AddressInfo } from 'node:net';
import type { Service, ServiceState } from './index.ts';

/**
 * The lifecycle every role shares: start and stop are idempotent (a second call gets the
 * first call's promise), stop waits for a start in progress, and `state` names where it is.
 * A start that fails part-way releases what it had opened (threads, pools, sockets) before
 * it rejects, so a caller that never calls stop() is not left holding a live process.
 */
export abstract class Role implements Service {
  state: ServiceState = 'created';
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  start(): Promise<void> {
    this.starting ??= (async () => {
      this.state = 'starting';
      try {
        await this.onStart();
        // A stop() that came during the start already says 'stopping'; it must not read 'running'.
        if (!this.stopping) this.state = 'running';
      } catch (err) {
        await this.onStop().catch(() => undefined);
        this.state = 'failed';
        throw err;
      }
    })();
    return this.starting;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = 'stopping';
      const failed = await this.starting?.then(
        () => false,
        () => true,
      );
      if (!failed) await this.onStop(); // a failed start has already released everything
      this.state = 'stopped';
    })();
    return this.stopping;
  }

  protected abstract onStart(): Promise<void>;
  protected abstract onStop(): Promise<void>;
}

/** `http://host:port` of a listening server, or '' before it listens. */
export function addressOf(server: { address(): AddressInfo | string | null } | undefined): string {
  const a = server?.address() as AddressInfo | null | undefined;
  return a ? `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : '';
}
