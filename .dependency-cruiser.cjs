/**
 * Architecture checks run by `npm run lint` (docs/design.md section 3): no import cycles anywhere, and inside
 * gateway/ imports go downward through the layers
 *
 *   main.ts -> edges -> pipeline -> stores -> services -> config -> kernel, verify
 *
 * (stores implement the services' contracts, so they sit above them; the composition root may import any
 * layer, and the CLI edge starts the process through it). connectors/ and policies/ are leaves.
 * Unit tests beside the code may reach any layer, but never form a cycle.
 */
const notTest = '\\.test\\.ts$|\\.test-suite\\.ts$';
const layer = (name, path, allowed) => ({
  name: `layer-${name}`,
  comment: `gateway/${name} may import only: ${allowed.join(', ') || 'nothing inside gateway/'}.`,
  severity: 'error',
  from: { path, pathNot: notTest },
  to: {
    path: '^gateway/',
    pathNot: [path, ...allowed.map((a) => `^gateway/${a}/`)],
  },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Import cycles hide the layering and make initialisation order fragile.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'leaves-stay-leaves',
      comment: 'connectors/ and policies/ import nothing from gateway/; connectors/ nothing from policies/.',
      severity: 'error',
      from: { path: '^(connectors|policies)/', pathNot: notTest },
      to: { path: '^gateway/' },
    },
    {
      name: 'connectors-not-policies',
      severity: 'error',
      from: { path: '^connectors/', pathNot: notTest },
      to: { path: '^policies/' },
    },
    layer('kernel', '^gateway/kernel/', []),
    layer('verify', '^gateway/verify/', []),
    layer('config', '^gateway/config/', ['kernel']),
    layer('services', '^gateway/services/', ['kernel', 'verify', 'config']),
    layer('stores', '^gateway/stores/', ['kernel', 'verify', 'config', 'services']),
    layer('pipeline', '^gateway/pipeline/', ['kernel', 'verify', 'config', 'services']),
    layer('edges', '^gateway/edges/(?!cli/)', ['kernel', 'verify', 'config', 'services', 'pipeline']),
    {
      name: 'otel-sdk-only-in-the-composition-root',
      comment:
        'Only the composition root starts the OpenTelemetry SDK (through telemetry/start.ts, which loads it when tracing is on); everything else uses @opentelemetry/api.',
      severity: 'error',
      from: { pathNot: ['^gateway/compose\\.ts$', '^gateway/services/telemetry/start\\.ts$', notTest] },
      to: { path: '^gateway/services/telemetry/sdk\\.ts$' },
    },
    {
      name: 'through-entry-points',
      comment:
        'Across gateway folders, import a folder through its index.ts (kernel, config, pipeline, stores, verify, services/<area>, edges/<edge>).',
      severity: 'error',
      from: { path: '^gateway/((services|edges)/[^/]+|[^/]+)/', pathNot: notTest },
      to: {
        path: '^gateway/(kernel|config|pipeline|stores|verify|(services|edges)/[^/]+)/',
        // kernel/version.ts is a leaf (node built-ins only): the CLI's command tree imports it alone, so that
        // `portcullis --help` does not load logging and tracing through the kernel's index. kernel/zod-trees.ts
        // is a leaf too (zod only): the CLI's entry sets zod up with it before any module builds a schema.
        pathNot: [
          '^gateway/$1/',
          '^gateway/(kernel|config|pipeline|stores|verify|(services|edges)/[^/]+)/index\\.ts$',
          '^gateway/kernel/version\\.ts$',
          '^gateway/kernel/zod-trees\\.ts$',
        ],
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
