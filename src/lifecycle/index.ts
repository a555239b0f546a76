import type { Logger } from '../observability/index.ts';

export type ServiceState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** Something a role starts and stops; both idempotent. */
export interface Service {
  readonly state: ServiceState;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs a service until SIGTERM/SIGINT, then stops it (stop accepting, drain in-flight work)
 * and exits 0; if the drain outlasts the deadline, exits 1 rather than hang a rollout.
 */
export function runUntilSignal(
  service: Service,
  logger: Logger,
  deadlineMs: number,
  exit: (code: number) => void = (c) => process.exit(c),
  opts: { delayMs?: number } = {},
): void {
  let stopping = false;
  let delayed: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (delayed) {
      // A second signal cuts the delay short, never the drain: in-flight requests still finish.
      clearTimeout(delayed);
      delayed = undefined;
      logger.warn({ signal }, 'second signal: draining now');
      drain(signal);
      return;
    }
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      exit(1);
      return;
    }
    stopping = true;
    const delayMs = opts.delayMs ?? 0;
    if (delayMs > 0) {
      // Swarm drops a stopping task from DNS at once, but nginx and the gateways cache addresses
      // for seconds: closing the listener now would refuse their next connections.
      logger.info({ signal, delay_ms: delayMs }, `${signal}: still serving for ${delayMs} ms, then draining`);
      delayed = setTimeout(() => {
        delayed = undefined;
        drain(signal);
      }, delayMs);
    } else drain(signal);
  };
  const drain = (signal: NodeJS.Signals) => {
    logger.info({ signal, deadline_ms: deadlineMs }, `${signal}: draining, then exiting`);
    const timer = setTimeout(() => {
      logger.error({ deadline_ms: deadlineMs }, 'shutdown deadline passed with work still in flight; exiting');
      exit(1);
    }, deadlineMs);
    timer.unref();
    service.stop().then(
      () => {
        clearTimeout(timer);
        logger.info('stopped cleanly');
        exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

export { Role, addressOf } from './role.ts';
