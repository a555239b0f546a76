// The structure of src/, checked by `npm run lint` (dependency-cruiser), so it cannot decay
// silently. ARCHITECTURE.md explains the floors; a rule here that blocks a change is a question
// for that document first, not something to switch off.
//
// Floors, top to bottom: a folder may import its own floor and the floors below it, never above.
const FLOORS = [
  ['cli'], // argv → a role or a client command
  ['roles'], // composition roots
  ['http', 'grpc'], // transports: parse the wire, call the core, map errors
  ['admission', 'auth', 'clients', 'jobs'], // the transport-neutral core
  ['inference', 'models', 'images', 'storage'], // backends and storage
  ['config', 'observability', 'lifecycle', 'net', 'terminal'], // leaves (and src/errors.ts)
];

const folder = (names) => `^src/(${names.join('|')})/`;
const above = (i) => FLOORS.slice(0, i).flat();

export default {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A value import cycle makes load order matter; type-only cycles inside a folder are harmless.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'through-index',
      comment: "Another folder is reached through its index.ts (or a sub-folder's), its public face.",
      severity: 'error',
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/', pathNot: ['^src/$1/', '/index\\.ts$', '^src/[^/]+\\.ts$'] },
    },
    {
      name: 'transports-apart',
      comment: 'HTTP and gRPC only translate: what both need belongs in the core below them.',
      severity: 'error',
      from: { path: '^src/(http|grpc)/' },
      to: { path: '^src/(http|grpc)/', pathNot: '^src/$1/' },
    },
    ...FLOORS.slice(1).map((names, i) => ({
      name: `floor-${names[0]}`,
      comment: `${names.join(', ')} may not import from a floor above (${above(i + 1).join(', ')})`,
      severity: 'error',
      from: { path: folder(names) },
      to: { path: folder(above(i + 1)) },
    })),
    {
      name: 'config-stays-with-the-roles',
      comment:
        'Below the roles a module declares the options it needs and its role fills them: the env-named Config and loadConfig are for src/roles and src/cli. What every floor may share of src/config (secret files, the provider names) is in src/config/shared/.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli|roles|config)/' },
      to: { path: '^src/config/', pathNot: '^src/config/shared/' },
    },
    {
      name: 'errors-is-a-leaf',
      severity: 'error',
      from: { path: '^src/errors\\.ts$' },
      to: { path: '^src/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
