// `defineSuite` declares a suite as data (e2e-framework's features.New(...).WithLabel(...)): its
// registries, how it treats nodes, and each scenario's ID, title, capabilities and needs. Under jest
// the declarations also register the tests; imported elsewhere (the catalog) they only record.

import { loadRunContext } from '../run/context.ts';
import type { Capability, HostTool, Need, NodePolicy, ScenarioDeclaration, SuiteDeclaration } from './declaration.ts';
import { type HomeNode, type RegistryRequest, type RunEnv, startEnv } from './env.ts';
import { ScenarioPool } from './pool.ts';
import { runScenario, type ScenarioContext } from './scenario.ts';

export interface SuiteOptions {
  /** The suite's name: the prefix of its scenario IDs and what `--suite` selects. */
  name: string;
  /** The registries its scenarios push to, started (or stood in for by --registry) once per suite. */
  registries: readonly RegistryRequest[];
  /** Default 'shared'. */
  nodes?: NodePolicy;
  /** For 'locked' suites: where pods that name no node go (default 'explicit': every pod names one). */
  home?: HomeNode;
  /** A framework self-test, not a conformance suite. */
  selftest?: boolean;
  /** Runs in two halves around an in-place upgrade: only `pullcheck upgrade` selects it. */
  upgrade?: boolean;
  /** Some of its scenarios again, against other registry kinds (each variant its own environment). */
  variants?: readonly SuiteVariant[];
}

/**
 * A registry variant: the named scenarios once more, with some of the suite's registries replaced
 * by another kind (token auth, ggcr, redirected blobs), under IDs `<group>/<variant>/<name>`.
 */
export interface SuiteVariant {
  /** Names the kind in the IDs: `token-auth`, `ggcr`, `redirect`. */
  name: string;
  /** Per registry name of the suite, what changes (the rest of the request stays). */
  registries: Readonly<Record<string, Partial<Omit<RegistryRequest, 'name'>>>>;
  /** The scenario names (without the group) it runs again. */
  scenarios: readonly string[];
}

export interface ScenarioOptions {
  capabilities?: readonly Capability[];
  needs?: readonly Need[];
  tools?: readonly HostTool[];
  /** The ID's prefix when it is not the suite's name (a use case proven in another suite's setting). */
  group?: string;
  /** The scenario's own deadline (default 10 minutes); `--timeout` replaces it. */
  timeoutMs?: number;
}

type Body = (s: ScenarioContext) => Promise<void>;

export interface SectionOptions {
  /** How many of the section's scenarios may run at once (default 1). */
  concurrency?: number;
}

export interface Suite extends SuiteDeclaration {
  scenario(name: string, title: string, body: Body): void;
  scenario(name: string, title: string, options: ScenarioOptions, body: Body): void;
  /**
   * Groups scenarios under a heading (jest's describe). With `concurrency` above 1, under
   * `pullcheck run`, that many of its scenarios run side by side (pool.ts): for scenarios that
   * change nothing on a node beyond what the section's setup did, each with its own images.
   */
  section(title: string, fn: () => void, o?: SectionOptions): void;
  /** Runs before the scenarios of the section it is in (jest's beforeAll); never while listing. */
  setup(fn: () => Promise<void>, timeoutMs?: number): void;
  /** Runs after them, whatever happened (jest's afterAll). */
  teardown(fn: () => Promise<void>, timeoutMs?: number): void;
  /** The suite's environment, once its setup ran. */
  env(): RunEnv;
}

const DEFAULT_TIMEOUT_MS = 600_000;
const SETUP_TIMEOUT_MS = 3_600_000;

/** Jest's globals when a jest worker loads the suite; undefined when the catalog imports it. */
function jestGlobals(): { describe: jest.Describe; it: jest.It; beforeAll: jest.Lifecycle; afterAll: jest.Lifecycle } | undefined {
  const g = globalThis as Record<string, unknown>;
  if (typeof g['it'] !== 'function' || typeof g['describe'] !== 'function') return undefined;
  return {
    describe: g['describe'] as jest.Describe,
    it: g['it'] as jest.It,
    beforeAll: g['beforeAll'] as jest.Lifecycle,
    afterAll: g['afterAll'] as jest.Lifecycle,
  };
}

/** The suite's registries with a variant's changes; a change naming no registry of the suite is a mistake. */
export function variantRegistries(suite: string, base: readonly RegistryRequest[], v: SuiteVariant): RegistryRequest[] {
  for (const name of Object.keys(v.registries))
    if (!base.some((r) => r.name === name))
      throw new Error(`suite ${suite}: variant ${v.name} changes registry ${name}, which the suite does not have`);
  return base.map((r) => ({ ...r, ...v.registries[r.name] }));
}

/** A variant's environment, started by its first selected scenario (unselected variants start nothing). */
function lazyEnv(start: () => Promise<RunEnv>): { get: () => Promise<RunEnv>; dispose: () => Promise<void> } {
  let started: Promise<RunEnv> | undefined;
  return {
    get: () => {
      started ??= start();
      return started;
    },
    // A start that failed disposed what it had started (startEnv); a second dispose is harmless.
    dispose: async () => {
      const env = await started?.catch(() => undefined);
      started = undefined;
      await env?.dispose();
    },
  };
}

export function defineSuite(o: SuiteOptions): Suite {
  const nodes = o.nodes ?? 'shared';
  if (nodes === 'shared' && o.home) throw new Error(`suite ${o.name}: home is for suites that change nodes under locks (nodes: 'locked')`);
  const jest = jestGlobals();
  const home = nodes === 'locked' ? { home: o.home ?? 'explicit' } : {};
  const variants = (o.variants ?? []).map((v) => {
    const registries = variantRegistries(o.name, o.registries, v);
    return { ...v, env: lazyEnv(() => startEnv({ suite: `${o.name}-${v.name}`, registries, ...home })) };
  });
  let env: RunEnv | undefined;
  const getEnv = (): RunEnv => {
    if (!env) throw new Error(`the ${o.name} suite environment did not start (see its setup error)`);
    return env;
  };
  if (jest) {
    jest.beforeAll(async () => {
      // Only variant scenarios selected: the suite's own registries are not needed.
      const ids = loadRunContext().scenarioIds;
      if (ids && !scenarios.some((d) => !d.variant && ids.includes(d.id))) return;
      env = await startEnv({ suite: o.name, registries: o.registries, ...home });
    }, SETUP_TIMEOUT_MS);
    // The variants' environments are apart from the suite's (their own registries, CA and
    // journal lease): they go together.
    jest.afterAll(async () => {
      await Promise.all([env?.dispose(), ...variants.map((v) => v.env.dispose())]);
    }, SETUP_TIMEOUT_MS);
  }
  const scenarios: ScenarioDeclaration[] = [];
  // The side-by-side pool of the section being declared, if it has one.
  let pool: ScenarioPool | undefined;
  const declare = (
    id: string,
    group: string,
    title: string,
    options: ScenarioOptions,
    variant: string | undefined,
    env: () => Promise<RunEnv>,
    body: Body,
  ) => {
    const decl: ScenarioDeclaration = {
      id,
      suite: o.name,
      group,
      title,
      capabilities: options.capabilities ?? [],
      needs: options.needs ?? [],
      ...(options.tools ? { tools: options.tools } : {}),
      ...(variant ? { variant } : {}),
      // Carried into each record, so that reports keep the framework's self-tests apart.
      ...(o.selftest ? { selftest: true } : {}),
    };
    if (scenarios.some((s) => s.id === decl.id)) throw new Error(`suite ${o.name}: scenario ${decl.id} is declared twice`);
    scenarios.push(decl);
    if (!jest) return;
    // Scenarios the run did not select are jest-skipped (and left out of the report), so that a
    // suite none of whose scenarios runs does not start its registries either.
    const ctx = loadRunContext();
    const selected = !ctx.scenarioIds || ctx.scenarioIds.includes(decl.id);
    const run = async () => runScenario(await env(), decl, body);
    (selected ? jest.it : jest.it.skip)(
      `${decl.id}: ${title}`,
      selected && pool ? pool.add(run) : run,
      ctx.scenarioTimeoutMs ?? options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    );
  };
  const suite: Suite = {
    name: o.name,
    nodes,
    selftest: o.selftest ?? false,
    ...(o.upgrade ? { upgrade: true } : {}),
    scenarios,
    variants: variants.map((v) => ({ name: v.name, scenarios: v.scenarios })),
    scenario(name: string, title: string, a: ScenarioOptions | Body, b?: Body) {
      const options = typeof a === 'function' ? {} : a;
      const body = typeof a === 'function' ? a : b;
      if (!body) throw new Error(`scenario ${name}: no body`);
      const group = options.group ?? o.name;
      declare(`${group}/${name}`, group, title, options, undefined, () => Promise.resolve(getEnv()), body);
      for (const v of variants)
        if (v.scenarios.includes(name))
          declare(`${group}/${v.name}/${name}`, group, `${title} (registry variant ${v.name})`, options, v.name, v.env.get, body);
    },
    section(title, fn, so = {}) {
      if (!jest) return fn();
      // Only under pullcheck run, which selects by ID: a jest run by hand may skip tests by name
      // (-t), and a test jest skips must not run ahead unasked.
      const limit = so.concurrency ?? 1;
      const side = limit > 1 && loadRunContext().scenarioIds ? new ScenarioPool(limit) : undefined;
      // A pool runs ahead only through its own section's scenarios: a section inside it would have
      // its scenarios run beside those of another setting.
      if (pool) throw new Error(`suite ${o.name}: section "${title}" is inside a section whose scenarios run side by side`);
      jest.describe(title, () => {
        pool = side;
        try {
          fn();
        } finally {
          pool = undefined;
        }
      });
    },
    setup(fn, timeoutMs = DEFAULT_TIMEOUT_MS) {
      jest?.beforeAll(fn, timeoutMs);
    },
    teardown(fn, timeoutMs = DEFAULT_TIMEOUT_MS) {
      jest?.afterAll(fn, timeoutMs);
    },
    env: getEnv,
  };
  return suite;
}
