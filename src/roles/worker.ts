import { JobWorker } from '../jobs/index.ts';
import { dbReadyCheck, readSecret } from './common.ts';
import { RemoteRole } from './remote.ts';

/** `loupe worker`: jobs from the queue → model servers → results and webhooks. Serves health and metrics only. */
export class WorkerRole extends RemoteRole {
  private worker: JobWorker | undefined;

  protected async onStart(): Promise<void> {
    const { config, logger } = this.deps;
    const { history, jobs, boss, db } = await this.openStorage(true);
    await this.listen({ surface: 'ops', readyChecks: [dbReadyCheck(db)] });
    this.worker = new JobWorker({
      boss,
      jobs,
      predictions: history,
      backend: this.backend,
      logger,
      webhookSecret: readSecret(config.LOUPE_WEBHOOK_SECRET, config.LOUPE_WEBHOOK_SECRET_FILE),
      concurrency: config.LOUPE_WORKER_CONCURRENCY,
    });
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
