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
    // One rule per row of docs/ARCHITECTURE.md's table: what each part may import directly. "Pure
    // models" are lib/xml, lib/domain, lib/cib, lib/plan, lib/image and cib-templates.
    {
      name: 'agents-are-thin-entries',
      comment:
        'agents/: an agent imports lib/vm and lib/ocf, TransientDomain the fast paths\' real host (lib/host/agent-fs.ts), ' +
        'Balancer lib/ops/balancer-resource.ts, the lab\'s fence agent lib/lab/fence-agent.ts; nothing else of lib/.',
      severity: 'error',
      from: { path: '^agents/' },
      to: { path: '^lib/', pathNot: '^lib/(vm|ocf)/|^lib/host/agent-fs\\.ts$|^lib/ops/balancer-resource\\.ts$|^lib/lab/fence-agent\\.ts$' },
    },
    {
      name: 'only-balancer-imports-ops',
      comment: 'Only Balancer imports lib/ops (its resource\'s actions).',
      severity: 'error',
      from: { path: '^agents/', pathNot: '^agents/Balancer\\.ts$' },
      to: { path: '^lib/ops/' },
    },
    {
      name: 'only-transient-domain-imports-host',
      comment: 'Only TransientDomain imports lib/host (its fast paths, lib/host/agent-fs.ts).',
      severity: 'error',
      from: { path: '^agents/', pathNot: '^agents/TransientDomain\\.ts$' },
      to: { path: '^lib/host/' },
    },
    {
      name: 'scripts-are-thin-shells',
      comment:
        'scripts/: a command imports lib/cli (which holds what commands read from the node and the cluster: lib/cli/target.ts, ' +
        'lib/cli/cib-change.ts), lib/ops (it acts) and the pure models (its plan); never lib/host, lib/cluster, lib/vm, lib/plan, ' +
        'lib/ocf or lib/lab directly. scripts/dev are the developers\' tools, not commands.',
      severity: 'error',
      from: { path: '^scripts/[^/]+$' },
      to: { path: '^lib/(host|cluster|vm|plan|ocf|lab)/' },
    },
    {
      name: 'errors-import-nothing',
      comment: 'lib/errors.ts (CorralError and its kinds) is the bottom of every part: it imports nothing.',
      severity: 'error',
      from: { path: '^lib/errors\\.ts$' },
      to: { path: '^(lib|agents|scripts|cib-templates|node_modules)/' },
    },
    {
      name: 'ocf-imports-errors-and-balancer-defaults',
      comment:
        'lib/ocf: of lib/ only lib/errors.ts and the balancer\'s defaults (lib/plan/balance.ts, pure); of packages only zod. ' +
        'It runs nothing: a caller hands in what logs to syslog (ocfLog).',
      severity: 'error',
      from: { path: '^lib/ocf/' },
      to: { path: '^lib/|^node_modules/', pathNot: '^lib/(ocf/|errors\\.ts$|plan/balance\\.ts$)|^node_modules/zod/' },
    },
    {
      name: 'xml-knows-no-vocabulary',
      comment: 'lib/xml (the one reader, the DOM, the serializer) imports only lib/errors.ts and xmlbuilder2: not the CIB, not the domain.',
      severity: 'error',
      from: { path: '^lib/xml/' },
      to: { path: '^lib/|^node_modules/', pathNot: '^lib/(xml/|errors\\.ts$)|^node_modules/xmlbuilder2/' },
    },
    {
      name: 'domain-imports-xml-only',
      comment: 'lib/domain reads and writes XML through lib/xml and knows nothing else of lib/ (not lib/cib: lib/cib builds on it).',
      severity: 'error',
      from: { path: '^lib/domain/' },
      to: { path: '^lib/', pathNot: '^lib/(domain/|xml/|errors\\.ts$)' },
    },
    {
      name: 'cib-imports-domain-ocf-xml',
      comment: 'lib/cib: pure, plus lib/domain, lib/ocf (the agents\' parameter tables), lib/xml and cib-templates.',
      severity: 'error',
      from: { path: '^lib/cib/' },
      to: { path: '^lib/', pathNot: '^lib/(cib|domain|ocf|xml)/|^lib/errors\\.ts$' },
    },
    {
      name: 'plan-imports-pure-models',
      comment: 'lib/plan: pure models, and the types of lib/cluster\'s model (a cluster model in, a plan out).',
      severity: 'error',
      from: { path: '^lib/plan/' },
      to: { path: '^lib/', pathNot: '^lib/(plan|cib|domain|xml|cluster)/|^lib/errors\\.ts$' },
    },
    {
      name: 'plan-takes-cluster-types-only',
      comment: 'lib/plan names lib/cluster\'s model but runs none of its code (which reads the cluster through lib/host).',
      severity: 'error',
      from: { path: '^lib/plan/' },
      to: { path: '^lib/cluster/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'image-imports-sizes',
      comment: 'lib/image (mk_debian_installer\'s plan and texts): pure, plus lib/domain\'s sizes.',
      severity: 'error',
      from: { path: '^lib/image/' },
      to: { path: '^lib/', pathNot: '^lib/(image/|domain/size\\.ts$|errors\\.ts$)' },
    },
    {
      name: 'cib-templates-import-nothing',
      comment: 'cib-templates are XML shapes: they import nothing.',
      severity: 'error',
      from: { path: '^cib-templates/' },
      to: { path: '^(lib|agents|scripts|node_modules)/' },
    },
    {
      name: 'cluster-reads-through-host',
      comment: 'lib/cluster: the pure models, and lib/host to read; no executor, CLI, agent core, planner or lab.',
      severity: 'error',
      from: { path: '^lib/cluster/' },
      to: { path: '^lib/', pathNot: '^lib/(cluster|cib|domain|xml|host)/|^lib/errors\\.ts$' },
    },
    {
      name: 'vm-acts-through-its-port',
      comment: 'lib/vm (the agent\'s core): lib/ocf, the pure models it needs (lib/domain, lib/cib, lib/xml) and lib/host (its port and real side).',
      severity: 'error',
      from: { path: '^lib/vm/' },
      to: { path: '^lib/', pathNot: '^lib/(vm|ocf|domain|cib|xml|host)/|^lib/errors\\.ts$' },
    },
    {
      name: 'ops-load-no-cli',
      comment: 'lib/ops (executors) imports everything below it, never lib/cli (the commands call the executors, not the reverse).',
      severity: 'error',
      from: { path: '^lib/ops/' },
      to: { path: '^lib/cli/|^scripts/|^agents/' },
    },
    {
      name: 'cli-imports-no-entries',
      comment: 'lib/cli imports everything but the entries (agents/, scripts/).',
      severity: 'error',
      from: { path: '^lib/cli/' },
      to: { path: '^(agents|scripts)/' },
    },
    {
      name: 'host-imports-host-and-pure-models',
      comment:
        'lib/host: itself, the pure models, and lib/ocf (the agent\'s logging, for the real host); never lib/vm, lib/cluster, ' +
        'lib/ops, lib/cli or lib/lab. The agent\'s port (lib/host/agent-port.ts) lives here, so its real side needs no lib/vm.',
      severity: 'error',
      from: { path: '^lib/host/' },
      to: { path: '^lib/', pathNot: '^lib/(host|xml|domain|cib|plan|image|ocf)/|^lib/errors\\.ts$' },
    },
    {
      name: 'lab-looks-from-outside',
      comment:
        'lib/lab: lib/host, lib/cluster (crm_mon\'s answer, read as the product reads it) and the pure models; no lib/vm (the ' +
        'agent\'s core), no executor, no CLI.',
      severity: 'error',
      from: { path: '^lib/lab/' },
      to: { path: '^lib/', pathNot: '^lib/(lab|host|cluster|xml|domain|cib|plan|image)/|^lib/errors\\.ts$' },
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
