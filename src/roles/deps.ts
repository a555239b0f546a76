import type { Config } from '../config/index.ts';
import type { Logger, Tracing } from '../observability/index.ts';

/** What the CLI hands every role's composition root. */
export interface RoleDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly version: string;
  /** OTEL_* tracing (openTracing); absent: off. The role flushes it when it stops. */
  readonly tracing?: Tracing | undefined;
}
