export { createQueue, CLASSIFY_QUEUE, WEBHOOK_QUEUE, type ClassifyJob, type WebhookJob } from './queue.ts';
export { JobWorker, type WorkerDeps } from './worker.ts';
export { WebhookDeliveries, type DeliveryDeps, type DeliveryOptions } from './delivery.ts';
export { CircuitBreakers, receiverOf, type Admission, type BreakerOptions } from './breaker.ts';
export { deliver, sign, SIGNATURE_HEADER, WebhookError, type DeliverOptions } from './webhook.ts';
export { webhookUrlProblem, WebhookPolicy } from './egress.ts';
export { acceptStagedJob, submitJob, type SubmitOptions } from './service.ts';
