export { createQueue, CLASSIFY_QUEUE, WEBHOOK_QUEUE, type ClassifyJob, type WebhookJob } from './queue.ts';
export { JobWorker, type WorkerDeps, type WorkerState } from './worker.ts';
export { deliver, sign, SIGNATURE_HEADER } from './webhook.ts';
export { submitJob } from './service.ts';
