import { Type, type Static } from 'typebox';
import type { ExecutionProvider } from '../shared/index.ts';
import type { TracingConfig } from '../tracing.ts';
import { HttpVariables } from './http.ts';
import { InferenceVariables } from './inference.ts';
import { StorageVariables } from './storage.ts';
import { TracingVariables } from './tracing.ts';

// One schema for every environment variable Loupe reads, in four groups by capability. The
// table in docs/configuration.md and .env.example are generated from it and checked by a test, so
// documentation cannot drift from the code.
export const ConfigSchema = Type.Object({
  ...HttpVariables,
  ...InferenceVariables,
  ...StorageVariables,
  ...TracingVariables,
});

/** The environment as validated, plus what is derived from it once, at load. */
export interface Config extends Readonly<Static<typeof ConfigSchema>> {
  /** LOUPE_EXECUTION_PROVIDERS, parsed: the providers to try, in order, without repeats. */
  readonly executionProviders: readonly ExecutionProvider[];
  /** LOUPE_WEBHOOK_SECRET, or the contents of LOUPE_WEBHOOK_SECRET_FILE; '' turns webhooks off. */
  readonly webhookSecret: string;
  /** The contents of LOUPE_DATABASE_PASSWORD_FILE, when it is set. */
  readonly databasePassword: string | undefined;
  /** LOUPE_GRPC_PORT, parsed: the gRPC port, or undefined when gRPC is off. */
  readonly grpcPort: number | undefined;
  /** LOUPE_AUTH resolved against HOST: whether serve and gateway require API keys. */
  readonly authRequired: boolean;
  /** The OTEL_* variables, parsed; undefined when tracing is off (OTEL_TRACES_EXPORTER none, OTEL_SDK_DISABLED). */
  readonly tracing: TracingConfig | undefined;
}
