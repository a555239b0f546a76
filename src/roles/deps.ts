import type { Config } from '../config/index.ts';
import type { Logger } from '../observability/index.ts';

/** What the CLI hands every role's composition root. */
export interface RoleDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly version: string;
}
