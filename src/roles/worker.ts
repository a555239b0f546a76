import type { JobWorker } from '../jobs/index.ts';
import { createJobWorker, dbReadyCheck } from './common.ts';
import { webhookPolicy } from './options.ts';
import { RemoteRole } from './remote.ts';

/** `loupe worker`: jobs from the queue → model servers → results and webhooks. Serves health and metrics only. */
export class WorkerRole extends RemoteRole {
  private worker: JobWorker | undefined;

  protected async onStart(): Promise<void> {
    const { config, logger } = this.deps;
    const policy = webhookPolicy(config);
    const storage = await this.openStorage(true);
    await this.listen({ surface: 'ops', readyChecks: [dbReadyCheck(storage.db)] });
    this.worker = createJobWorker(config, logger, storage, this.backend, this.metrics, policy);
    await this.worker.start();
    logger.info(
      { address: this.address, concurrency: config.LOUPE_WORKER_CONCURRENCY },
      `loupe worker running (health on ${this.address})`,
    );
  }

  protected async onStop(): Promise<void> {
    await this.worker?.stop(); // lets the jobs in hand finish
    await this.closeAll();
  }
}
