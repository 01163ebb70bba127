// The walls of docs/ARCHITECTURE.md, checked on every `npm test` (npm run walls). A rule that
// fails names the import that broke it; move the code to where the rule allows it, do not widen
// the rule. Type-only imports count too: a pure model that names a host type has already leaked.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'pure-models-run-nothing',
      comment:
        'lib/xml, lib/domain, lib/cib, lib/plan, lib/image and cib-templates are pure: they reach no code that runs programs ' +
        '(lib/host), no product layer above them, and nothing of the lab.',
      severity: 'error',
      from: { path: '^(lib/(xml|domain|cib|plan|image)|cib-templates)/' },
      to: { path: '^lib/(host|ops|cli|lab|vm)/', reachable: true },
    },
    {
      name: 'pure-models-do-no-io',
      comment: 'The pure models read no files, sockets or processes: they take text and give text (I/O is lib/host\'s or the caller\'s).',
      severity: 'error',
      from: { path: '^(lib/(xml|domain|cib|plan|image)|cib-templates)/' },
      to: { dependencyTypes: ['core'], path: '^(node:)?(fs|fs/promises|net|child_process|dgram|http|https|http2|worker_threads|cluster|readline|readline/promises)$' },
    },
    {
      name: 'only-host-runs-programs',
      comment: 'Only lib/host runs other programs (execa, through lib/host/exec.ts); the build tools in scripts/dev are not the product.',
      severity: 'error',
      from: { path: '^(lib|agents|scripts)/', pathNot: '^(lib/host|scripts/dev)/' },
      to: { path: '^(node:)?child_process$|^node_modules/execa/|^execa$' },
    },
    {
      name: 'agents-load-no-cli',
      comment: 'An OCF or fence agent never loads command-line code (lib/cli, scripts/, commander): Pacemaker runs it on every monitor.',
      severity: 'error',
      from: { path: '^agents/' },
      to: { path: '^(lib/cli/|scripts/|node_modules/commander/)', reachable: true },
    },
    {
      name: 'resource-agent-loads-no-tools',
      comment: 'TransientDomain loads neither the operator tools (lib/ops, lib/cluster) nor the lab.',
      severity: 'error',
      from: { path: '^agents/TransientDomain\\.ts$' },
      to: { path: '^lib/(ops|cluster|lab|plan)/', reachable: true },
    },
    {
      name: 'product-imports-no-lab',
      comment:
        'The lab is test and demo infrastructure: nothing in the product reaches lib/lab. Its only doors are ' +
        '`corral lab` (lib/cli/corral/lab.ts) and the lab\'s own fence agent (agents/fence_corral_lab.ts).',
      severity: 'error',
      from: { path: '^(lib/|scripts/|agents/)', pathNot: '^(lib/lab/|lib/cli/corral/lab\\.ts$|scripts/corral\\.ts$|scripts/dev/|agents/fence_corral_lab\\.ts$)' },
      to: { path: '^lib/lab/', reachable: true },
    },
    {
      name: 'lab-has-no-cli',
      comment: 'lib/lab is an API (tests, bench, demo); its command line is lib/cli/corral/lab.ts.',
      severity: 'error',
      from: { path: '^lib/lab/' },
      to: { path: '^(lib/cli/|scripts/|node_modules/commander/)' },
    },
    {
      name: 'lab-uses-no-agent-internals',
      comment: 'The lab looks at the product from outside: no lib/vm (the agent\'s core) inside lib/lab.',
      severity: 'error',
      from: { path: '^lib/lab/' },
      to: { path: '^lib/vm/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
