/**
 * The direction of acuerdo's dependencies (docs/engine.md, "The house"). `npm run lint:deps`
 * checks it; CI runs it. Layers, lowest first — a folder may import its own layer or lower:
 *
 *   core
 *   flows, nlu, store
 *   compliance
 *   engine, agreements
 *   campaigns, scheduler, ops, knowledge, learning
 *   http, cli
 *   service.ts (the composition root), main.ts
 *
 * channels/ import only src/core; src never imports a channel SDK; each folder of src/
 * is used by the others only through its index.ts.
 */
const LAYERS = [
  ['core'],
  ['flows', 'nlu', 'store'],
  ['compliance'],
  ['engine', 'agreements'],
  ['campaigns', 'scheduler', 'ops', 'knowledge', 'learning'],
  ['http', 'cli'],
];
const above = (i) => LAYERS.slice(i + 1).flat();
const CHANNEL_SDKS = '^node_modules/(telegraf|botbuilder|botframework-[^/]+|whatsapp-web\\.js|ws)/';

module.exports = {
  forbidden: [
    ...LAYERS.flatMap((folders, i) =>
      above(i).length
        ? [
            {
              name: `layer-${folders.join('-')}`,
              comment: `${folders.join(', ')} may not depend on a higher layer (${above(i).join(', ')})`,
              severity: 'error',
              from: { path: `^src/(${folders.join('|')})/` },
              to: { path: `^src/(${above(i).join('|')})/` },
            },
          ]
        : [],
    ),
    {
      name: 'core-imports-nothing-of-ours',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^(src|channels)/', pathNot: '^src/core/' },
    },
    {
      name: 'folder-faces',
      comment: 'another folder of src/ is used only through its index.ts',
      severity: 'error',
      from: { path: '^src/([^/]+)/' },
      to: { path: '^src/[^/]+/', pathNot: ['^src/$1/', '^src/[^/]+/index\\.ts$'] },
    },
    {
      name: 'channels-only-core',
      comment: 'channels/ receive ChannelPorts; they import src/core and nothing else of src',
      severity: 'error',
      from: { path: '^channels/' },
      to: { path: '^src/', pathNot: '^src/core/' },
    },
    {
      name: 'channels-never-database',
      comment: 'channels/ never reach the database',
      severity: 'error',
      from: { path: '^channels/' },
      to: { path: '^node_modules/(knex|pg|pg-[^/]+)/' },
    },
    {
      name: 'src-never-channel-sdk',
      comment: 'SDKs live in their channel folder; src/ wires channels only through channels/index.ts',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: CHANNEL_SDKS },
    },
    {
      name: 'only-the-root-loads-channels',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/service\\.ts$' },
      to: { path: '^channels/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^(src|channels)/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|channels/webchat/widget|channels/webchat/public)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
