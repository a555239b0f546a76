import { UsageError } from '../flags.ts';
import { PRESETS } from '../../models/index.ts';
import { DEFAULT_URL } from '../client/options.ts';

export const MODELS_USAGE = `Usage:
  loupe models list [--store DIR | --url URL [--key KEY]] [--json]
                    name, versions, ready, input and labels of each model: in the store (default
                    $LOUPE_MODEL_STORE), or served by a running server (--url; key: --key or $LOUPE_API_KEY)
  loupe models load <name> [--config JSON] [--url URL] [--key KEY] [--json]
  loupe models unload <name> [--url URL] [--key KEY] [--json]
                    Triton's model control on a running server (default $LOUPE_URL or ${DEFAULT_URL}; an admin
                    key: --key or $LOUPE_API_KEY; the server runs LOUPE_MODEL_CONTROL=explicit). load (re)loads every
                    version in its store, --config a Triton model config overriding batching; behind a gateway,
                    every model server, each listed
  loupe models validate <dir>
  loupe models pull <source> [--name N] [--version V] [--store DIR] [--sha256 HEX]
                    [--preset ${Object.keys(PRESETS).join('|')}] [--labels FILE] [--input NAME] [--output NAME]
                    [--size N | --width W --height H] [--color rgb|grayscale]
                    [--resize shorter-side-center-crop|stretch] [--resize-shorter N]
                    [--mean a,b,c] [--std a,b,c] [--output-kind logits|probabilities] [--max-bytes N]
  loupe models pull-all [--store DIR] [--validate]     every LOUPE_MODEL_URIS entry not in the store yet
Sources: https://…/model.onnx, hf://org/repo[@rev]/path.onnx, a local file or directory;
a source may end with #sha256=<hex>&preset=<name>.`;

/** Whether the arguments ask for help (before a `--`, after which everything is a positional). */
const asksHelp = (argv: readonly string[]) => {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
};

/** `loupe models …`: exit code 0 (done), 1 (failed), 2 (usage), 130 (interrupted). */
export async function runModels(argv: string[]): Promise<number> {
  const [sub, ...args] = argv;
  if (asksHelp(argv)) {
    console.log(MODELS_USAGE);
    return 0;
  }
  try {
    if (sub === 'validate') {
      if (args.length !== 1) throw new UsageError('give one directory: a store, a model or a version');
      const { validateModels } = await import('../../inference/local/index.ts');
      const report = await validateModels(args[0]!);
      for (const line of report.lines) console.log(line);
      return report.ok ? 0 : 1;
    }
    if (sub === 'list') return await (await import('./list.ts')).listModels(args);
    if (sub === 'load' || sub === 'unload') return await (await import('./control.ts')).controlModel(sub, args);
    if (sub === 'pull') return await (await import('./pull.ts')).pull(args);
    if (sub === 'pull-all') return await (await import('./pull.ts')).pullAllCommand(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`loupe models ${sub}: ${err.message} (loupe models --help shows the usage)`);
    return 2;
  }
  console.error(
    `${sub ? `loupe models: unknown command "${sub}"` : 'loupe models needs a command'}\n\n${MODELS_USAGE}`,
  );
  return 2;
}
