/** What a command's Ctrl-C handling hands its work: the signal, a way to stop, and the unhook. */
export interface StopSignal {
  readonly signal: AbortSignal;
  abort(): void;
  dispose(): void;
}

/**
 * An AbortSignal that Ctrl-C (and SIGTERM) abort, so the command can clean up and exit 130;
 * a second signal exits at once. `dispose()` takes the handlers off again.
 */
export function abortOnSignal(): StopSignal {
  const ac = new AbortController();
  const onSignal = () => {
    if (ac.signal.aborted) process.exit(130);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: ac.signal,
    abort: () => ac.abort(),
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
