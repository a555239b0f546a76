import type { Config } from '../config/index.ts';
import { StartupError } from '../errors.ts';
import type { Logger } from '../observability/index.ts';

/**
 * LOUPE_MODEL_URIS at start (serve, model-server), as KServe's storage initializer does for a
 * pod: every entry not in the store yet is pulled before the store is loaded; one that cannot
 * be pulled stops the start (exit 1, one line). Entries already present cost a directory read.
 */
export async function pullConfiguredModels(config: Config, logger: Logger, signal: AbortSignal): Promise<void> {
  // The pull code (and its HTTP client) is loaded only when there is something to pull.
  if (!config.LOUPE_MODEL_URIS.trim()) return;
  const { describeOutcome, modelUrisFromConfig, progressRenderer, pullAll } = await import('../models/pull/index.ts');
  const uris = modelUrisFromConfig(config.LOUPE_MODEL_URIS);
  if (uris.length === 0) return;
  const outcomes = await pullAll(
    uris,
    {
      store: config.LOUPE_MODEL_STORE,
      maxBytes: config.LOUPE_MODEL_PULL_MAX_BYTES,
      hfEndpoint: config.HF_ENDPOINT,
      hfToken: config.HF_TOKEN,
      signal,
      progress: progressRenderer({ tty: false, everyMs: 10_000, write: (line) => logger.info(line.trim()) }),
    },
    (o) => (o.status === 'failed' ? logger.error(describeOutcome(o)) : logger.info(describeOutcome(o))),
  );
  const failed = outcomes.filter((o) => o.status === 'failed');
  if (failed.length) throw new StartupError(`LOUPE_MODEL_URIS: ${failed.map(describeOutcome).join('; ')}`);
}
