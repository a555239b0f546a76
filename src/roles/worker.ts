import { createJobWorker, dbReadyCheck } from './common.ts';
import { roleAdmission, webhookPolicy } from './options.ts';
import { RemoteRole } from './remote.ts';

/** `loupe worker`: jobs from the queue → model servers → results and webhooks. Serves health and metrics only. */
export class WorkerRole extends RemoteRole {
  protected async onStart(): Promise<void> {
    const { config, logger } = this.deps;
    const policy = webhookPolicy(config);
    const storage = await this.openStorage({ migrate: false, supervise: true });
    await this.surfaces.open({
      surface: 'ops',
      readyChecks: [dbReadyCheck(storage.db)],
      admission: roleAdmission(config, { clientLimits: false }),
    });
    await this.backend.start();
    this.jobWorker = createJobWorker(config, logger, storage, this.backend, this.metrics, policy, this.tracing);
    await this.jobWorker.start();
    logger.info(
      { address: this.address, concurrency: config.LOUPE_WORKER_CONCURRENCY },
      `loupe worker running (health on ${this.address})`,
    );
  }

  protected override async onStop(): Promise<void> {
    await this.jobWorker?.stop(); // lets the jobs in hand finish while health still answers
    await super.onStop();
  }
}
