// What each command takes, as data (kubectl's and kind's per-command flag sets): the help texts are
// made from it, and a flag given to a command that does not take it is a usage error, not ignored.

export interface FlagSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** The value's placeholder in help, e.g. `NAME`. */
  arg?: string;
  help: string;
}

export const FLAGS = {
  suite: { type: 'string', multiple: true, arg: 'NAME[,NAME]', help: 'only these suites (repeatable)' },
  'suites-dir': {
    type: 'string',
    multiple: true,
    arg: 'DIR',
    help: 'also the suites in DIR (NAME.test.ts or .js written against pullcheck/harness), beside the built-in ones (repeatable)',
  },
  focus: { type: 'string', arg: 'REGEX', help: 'only scenario IDs matching REGEX' },
  skip: { type: 'string', arg: 'REGEX', help: 'leave out scenario IDs matching REGEX' },
  profile: { type: 'string', arg: 'NAME|FILE', help: 'cluster profile from clusters/ (default: default)' },
  name: { type: 'string', arg: 'NAME', help: "the kind cluster's name instead of the profile's (a second cluster of the same shape)" },
  k8s: { type: 'string', arg: 'V[,V...]', help: 'Kubernetes version(s); several run as a matrix, compared in the report' },
  posture: {
    type: 'string',
    arg: 'FILE',
    help: "what the cluster is meant to be (AlwaysPullImages, KEP-2535 policy per node, credential providers); expectations follow it (default: the profile's, or upstream's defaults for an existing cluster's version); see docs/posture.md",
  },
  kubeconfig: { type: 'string', arg: 'PATH', help: 'run against an existing cluster instead of creating one' },
  context: { type: 'string', arg: 'NAME', help: 'the kubeconfig context to use (default: its current context)' },
  'in-cluster': {
    type: 'boolean',
    help: "from a pod: test the pod's own cluster with its ServiceAccount (the runner image, the Sonobuoy plugin); needs --registry",
  },
  'no-pull': { type: 'boolean', help: 'do not try docker pull before building the node image' },
  force: { type: 'boolean', help: 'rebuild even when cached' },
  registry: { type: 'string', arg: 'URL', help: 'https://host[:port] to push test images to and pull them from' },
  'registry-username': { type: 'string', arg: 'U', help: 'its user' },
  'registry-password-stdin': { type: 'boolean', help: 'read its password from standard input' },
  'registry-ca': { type: 'string', arg: 'FILE', help: 'PEM of the CA that signed its certificate (given to nodes too)' },
  'registry-repository-prefix': { type: 'string', arg: 'P', help: 'push every repository under P/ (a project or namespace of yours)' },
  'registry-public-prefix': {
    type: 'string',
    arg: 'Q',
    help: "a namespace anonymous clients may read: with a username, the registry also stands in for the suites' anonymous registries",
  },
  'registry-repository-layout': {
    type: 'string',
    arg: 'flat|nested',
    help: 'flat: every repository at depth 2, P/name (registries that allow no deeper nesting); default nested, P/pullcheck/name',
  },
  'registry-upstream': {
    type: 'string',
    arg: 'URL',
    help: 'the registry is a pull-through cache of URL: test images are pushed there, pods pull them through the cache',
  },
  'registry-preseeded': {
    type: 'string',
    arg: 'FILE',
    help: 'pull-only: pullcheck never writes to the registry; the reading scenarios pull the references FILE names (docs/certify.md)',
  },
  'upstream-username': { type: 'string', arg: 'U', help: "the upstream's user" },
  'upstream-password-env': { type: 'string', arg: 'VAR', help: "the environment variable holding the upstream's password" },
  'upstream-ca': { type: 'string', arg: 'FILE', help: "PEM of the CA that signed the upstream's certificate" },
  run: { type: 'string', arg: 'RUN', help: 'registry clean: the run ID (reports/RUN) whose pushes to delete' },
  config: { type: 'string', arg: 'FILE', help: 'YAML with any of the settings above (flags win over it)' },
  keep: { type: 'boolean', help: 'leave the cluster and the scenario namespaces for debugging' },
  parallel: { type: 'string', arg: 'N', help: 'suites run N at a time in each phase (default 3; under node locks at most one per node)' },
  timeout: { type: 'string', arg: 'DURATION', help: "per scenario, Go style: 90s, 5m, 1m30s (default: each scenario's own)" },
  'report-dir': { type: 'string', arg: 'DIR', help: 'where reports/<run-id>/ goes (default: reports)' },
  selftest: { type: 'boolean', help: "also pullcheck's own self-test suites (test/selftest; npm test does)" },
  kind: {
    type: 'string',
    arg: 'KIND',
    help: 'distribution-htpasswd, distribution-anonymous, distribution-token, distribution-no-delete, ggcr or redirect',
  },
  from: { type: 'string', arg: 'vX', help: 'upgrade: the Kubernetes version the cluster is created at' },
  to: { type: 'string', arg: 'vY', help: 'upgrade: the version it is upgraded to in place (the next minor, or a later patch)' },
  before: {
    type: 'boolean',
    help: 'upgrade --kubeconfig: run the before halves on your cluster and write the report the --after run needs; then upgrade it your way',
  },
  after: {
    type: 'boolean',
    help: 'upgrade --kubeconfig: once you upgraded it, the after halves and the suites, compared with the --before run (--baseline its results.json)',
  },
  shard: {
    type: 'string',
    arg: 'I/N',
    help: 'run part I of N of the selection (a CI matrix; stable by scenario ID); join them with report --merge',
  },
  archive: { type: 'boolean', help: 'also write the run directory as one pullcheck-<run>.tar.gz beside it' },
  baseline: {
    type: 'string',
    arg: 'FILE',
    help: 'after the run, compare it with that results.json as diff does (exit 1 on a change)',
  },
  'accept-changes': { type: 'boolean', help: 'report a change from the baseline without failing' },
  merge: { type: 'boolean', help: 'join the results.json of several shards (or parts) into one new report under --report-dir' },
  output: { type: 'string', short: 'o', arg: 'json|yaml', help: 'print as JSON or YAML instead of text' },
  version: { type: 'boolean', help: "pullcheck's version (same as `pullcheck version`)" },
  help: { type: 'boolean', short: 'h', help: 'this text' },
} as const satisfies Record<string, FlagSpec>;

export type FlagName = keyof typeof FLAGS;

const SELECTION: FlagName[] = ['suite', 'suites-dir', 'focus', 'skip'];
const CLUSTER: FlagName[] = ['profile', 'name', 'k8s', 'posture', 'kubeconfig', 'context', 'in-cluster', 'no-pull'];
const REGISTRY: FlagName[] = [
  'registry',
  'registry-username',
  'registry-password-stdin',
  'registry-ca',
  'registry-repository-prefix',
  'registry-public-prefix',
  'registry-repository-layout',
  'registry-upstream',
  'registry-preseeded',
  'upstream-username',
  'upstream-password-env',
  'upstream-ca',
];
const RUN: FlagName[] = [
  'config',
  'keep',
  'parallel',
  'timeout',
  'report-dir',
  'selftest',
  'shard',
  'archive',
  'baseline',
  'accept-changes',
];

export interface CommandSpec {
  name: string;
  /** What follows the name in usage, e.g. `FILE`. */
  operands?: string;
  summary: string;
  /** Flag groups in the order help prints them (`help` is every command's). */
  groups: { title: string; flags: FlagName[] }[];
  /** Lines after the flags: exit codes, environment. */
  notes?: string[];
}

const EXIT_RUN = 'exit codes: 0 all passed, 1 a scenario failed, 2 bad usage or environment';

export const COMMANDS: CommandSpec[] = [
  {
    name: 'run',
    summary: "create the profile's kind cluster(s) and registries, run the suites, write the report, tear down (the default command)",
    groups: [
      { title: 'selection', flags: SELECTION },
      { title: 'cluster', flags: CLUSTER },
      { title: "registry (certify a vendor's registry; also PULLCHECK_REGISTRY, _USERNAME, _PASSWORD, _CA)", flags: REGISTRY },
      { title: 'run', flags: RUN },
    ],
    notes: [EXIT_RUN],
  },
  {
    name: 'certify',
    summary:
      'run the scenarios that prove registry capabilities against --registry; exit 0 only when every required capability passed (reports/<run>/certification.html)',
    groups: [
      { title: 'selection', flags: SELECTION },
      { title: 'cluster', flags: CLUSTER },
      { title: 'registry (also PULLCHECK_REGISTRY, _USERNAME, _PASSWORD, _CA)', flags: REGISTRY },
      { title: 'run', flags: RUN },
    ],
    notes: ['exit codes: 0 certified, 1 a required capability failed or was not tested, 2 bad usage or environment'],
  },
  {
    name: 'upgrade',
    summary:
      'a kind cluster at --from, the before half of upgrade/*, an in-place kubeadm upgrade to --to (control plane, then each worker), the after half, then the suites on the upgraded cluster (--suite narrows them; --suite upgrade: none); one report. Your own cluster: --kubeconfig K --before, your upgrade, then --kubeconfig K --after --baseline reports/<run>/results.json',
    groups: [
      { title: 'upgrade (a kind cluster pullcheck makes and upgrades)', flags: ['from', 'to'] },
      { title: 'upgrade (your cluster, upgraded by you between two commands)', flags: ['kubeconfig', 'context', 'before', 'after'] },
      { title: 'selection', flags: SELECTION },
      { title: 'cluster', flags: ['profile', 'name', 'posture', 'no-pull'] },
      {
        title: 'registry (the --kubeconfig form: one both commands reach; also PULLCHECK_REGISTRY, _USERNAME, _PASSWORD, _CA)',
        flags: REGISTRY,
      },
      { title: 'run', flags: ['config', 'keep', 'parallel', 'timeout', 'report-dir', 'baseline', 'accept-changes', 'archive'] },
    ],
    notes: [EXIT_RUN],
  },
  {
    name: 'list',
    summary: 'every suite and scenario ID with its one-line description',
    groups: [{ title: 'selection', flags: [...SELECTION, 'config', 'selftest', 'output'] }],
  },
  {
    name: 'report',
    operands: 'FILE...',
    summary: 'render junit.xml and index.html again from a results.json; with --merge, join several into one report',
    groups: [{ title: 'report', flags: ['merge', 'report-dir', 'archive'] }],
  },
  {
    name: 'diff',
    operands: 'A B',
    summary:
      "what behaves differently from run A in run B (two results.json): verdicts and each pod's observations per scenario; exit 1 on a change unless --accept-changes",
    groups: [{ title: 'diff', flags: ['accept-changes'] }],
  },
  {
    name: 'cluster up',
    summary: "create the profile's kind cluster (builds kind and the node image when needed)",
    groups: [{ title: 'cluster', flags: ['profile', 'name', 'k8s', 'no-pull'] }],
  },
  {
    name: 'cluster down',
    summary: 'delete it, with every container and network it made',
    groups: [{ title: 'cluster', flags: ['profile', 'name', 'k8s'] }],
  },
  {
    name: 'cluster clean',
    summary:
      'undo what killed runs left: on the nodes (the node-change journal: credential files, drop-ins, kubelet config, static pods, images) and in the cluster (namespaces, RBAC, locks); prints each; the kind cluster of --name/--profile, or --kubeconfig',
    groups: [{ title: 'cluster', flags: ['profile', 'name', 'k8s', 'kubeconfig', 'context'] }],
  },
  {
    name: 'cluster upgrade',
    summary:
      "upgrade the profile's kind cluster in place to --to, kubeadm's way (control plane, then each worker), from the same hermetic build; what you would do between upgrade --kubeconfig --before and --after",
    groups: [{ title: 'cluster', flags: ['profile', 'name', 'to'] }],
  },
  {
    name: 'cluster status',
    summary: 'say whether it runs (exit 0 running, 1 not running)',
    groups: [{ title: 'cluster', flags: ['profile', 'name', 'k8s', 'output'] }],
  },
  {
    name: 'images build',
    summary: 'build (or pull) the node image alone, e.g. to warm a CI cache',
    groups: [{ title: 'image', flags: ['profile', 'k8s', 'no-pull', 'force'] }],
  },
  {
    name: 'images runner',
    summary:
      'build the runner image (pullcheck in a pod: a Job, the Sonobuoy plugin in deploy/sonobuoy) and print its reference; -o yaml: the Sonobuoy plugin definition naming it by its content tag',
    groups: [{ title: 'output', flags: ['output'] }],
  },
  {
    name: 'registry serve',
    summary:
      'start one registry of a kind pullcheck runs, beside the kind cluster (--name/--profile), print the certify command for it, serve until Ctrl-C',
    groups: [{ title: 'registry', flags: ['kind', 'profile', 'name'] }],
  },
  {
    name: 'registry clean',
    summary:
      'delete the tags and manifests run --run RUN pushed to --registry (what its end could not delete, or a killed run left); exit 1 if the registry still refuses',
    groups: [
      {
        title: 'registry (also PULLCHECK_REGISTRY, _USERNAME, _PASSWORD, _CA)',
        flags: ['registry', 'registry-username', 'registry-password-stdin', 'registry-ca', 'run', 'report-dir'],
      },
    ],
    notes: ['exit codes: 0 nothing of the run left, 1 the registry refused deleting some, 2 bad usage or environment'],
  },
  {
    name: 'version',
    summary: "pullcheck's version, the kind and default Kubernetes versions it uses, the report schema",
    groups: [{ title: 'output', flags: ['output'] }],
  },
  { name: 'help', operands: '[COMMAND]', summary: "this text, or one command's with its flags", groups: [] },
];

export function commandSpec(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** The command a positional list names: the longest spec name it starts with (`cluster up`), else its words. */
export function commandOf(positionals: readonly string[]): { name: string; operands: string[] } {
  if (positionals.length === 0) return { name: 'run', operands: [] };
  for (const words of [2, 1]) {
    const name = positionals.slice(0, words).join(' ');
    if (positionals.length >= words && commandSpec(name)) return { name, operands: positionals.slice(words) };
  }
  return { name: positionals.join(' '), operands: [] };
}

/** How many operands a command takes: the words of its `operands`, any number for `X...`, `[X]` one. */
export function maxOperands(spec: CommandSpec): number {
  if (!spec.operands) return 0;
  if (spec.operands.endsWith('...')) return Number.POSITIVE_INFINITY;
  return spec.operands.split(' ').length;
}

/** The flags a command takes (every command takes --help; `run` is also the default). */
export function flagsOf(spec: CommandSpec): Set<FlagName> {
  return new Set<FlagName>(['help', ...spec.groups.flatMap((g) => g.flags)]);
}

type OptionOf<F extends FlagSpec> = { type: F['type'] } & (F extends { multiple: true } ? { multiple: true } : object) &
  (F extends { short: string } ? { short: string } : object);

/** node:util parseArgs options for every flag; which apply is checked per command afterwards. */
export function parseArgsOptions(): { [K in FlagName]: OptionOf<(typeof FLAGS)[K]> } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const [name, f] of Object.entries(FLAGS) as [FlagName, FlagSpec][])
    options[name] = { type: f.type, ...(f.multiple ? { multiple: true } : {}), ...(f.short ? { short: f.short } : {}) };
  return options as { [K in FlagName]: OptionOf<(typeof FLAGS)[K]> };
}

const WIDTH = 100;

/** Words wrapped to `width`, continuation lines indented by `indent`. */
function wrap(text: string, indent: number, first: number): string {
  const lines: string[] = [];
  let line = '';
  let room = WIDTH - first;
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
      room = WIDTH - indent;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

function flagLine(name: FlagName): string {
  const f: FlagSpec = FLAGS[name];
  const left = `  ${f.short ? `-${f.short}, ` : ''}--${name}${f.arg ? ` ${f.arg}` : ''}`;
  const pad = Math.max(left.length + 2, 28);
  return `${left.padEnd(pad)}${wrap(f.help, pad, pad)}`;
}

/** `pullcheck help CMD` and `pullcheck CMD --help`: the command's line and its flags. */
export function commandHelp(spec: CommandSpec): string {
  const out = [`usage: pullcheck ${spec.name}${spec.operands ? ` ${spec.operands}` : ''} [options]`, '', wrap(spec.summary, 0, 0)];
  for (const g of spec.groups) out.push('', `${g.title}:`, ...g.flags.map(flagLine));
  out.push('', 'global:', flagLine('help'));
  if (spec.notes) out.push('', ...spec.notes);
  return out.join('\n');
}

/** `pullcheck --help`: every command, one line each. */
export function globalHelp(): string {
  const out = ['usage: pullcheck <command> [options]', '', 'commands:'];
  for (const c of COMMANDS) {
    const left = `  ${c.name}${c.operands ? ` ${c.operands}` : ''}`;
    out.push(`${left.padEnd(26)}${wrap(c.summary, 26, 26)}`);
  }
  out.push(
    '',
    'global:',
    flagLine('help'),
    flagLine('version'),
    '',
    "`pullcheck help COMMAND` or `pullcheck COMMAND --help` lists that command's flags.",
    EXIT_RUN,
  );
  return out.join('\n');
}
