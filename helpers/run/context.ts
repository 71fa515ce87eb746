// The one thing `pullcheck run` hands its jest processes: a typed run context, written once per
// target as <target>/run.json and named by one variable (RUN_CONTEXT_ENV). Secrets never go in it:
// the registry password travels in a 0600 file of its own, removed when the run ends.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { privateTempDir, removePrivateTempDir } from '../infra/tempfiles.ts';
import { RUN_CONTEXT_ENV, RUN_CONTEXT_SCHEMA, type RunContext } from '../model/context.ts';

export {
  type ClusterTarget,
  type RegistryTarget,
  RUN_CONTEXT_ENV,
  RUN_CONTEXT_SCHEMA,
  type RunContext,
  type UpgradeHalf,
} from '../model/context.ts';

/** The context of a jest run started by hand (npm run test:e2e): the default profile, a report of its own. */
export function defaultRunContext(targetDir = ''): RunContext {
  return {
    schema: RUN_CONTEXT_SCHEMA,
    runId: '',
    targetDir,
    cluster: { provider: 'kind', profile: 'default' },
    clusterReady: false,
    keep: false,
    reportManaged: false,
    allowPull: true,
  };
}

/** Writes the context (by default as <target>/run.json) and returns the file's path. */
export function writeRunContext(ctx: RunContext, file = join(ctx.targetDir, 'run.json')): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(ctx, null, 2)}\n`);
  return file;
}

let loaded: { file: string; ctx: RunContext } | undefined;

/** Whether a run named this process's context (else it is a jest run started by hand). */
export function hasRunContext(): boolean {
  return Boolean(runContextFile());
}

/** The file RUN_CONTEXT_ENV names: the one environment variable between pullcheck's own processes. */
function runContextFile(): string | undefined {
  return process.env[RUN_CONTEXT_ENV];
}

/** This process's run context: the file RUN_CONTEXT_ENV names (read once), else the default one. */
export function loadRunContext(): RunContext {
  const file = runContextFile();
  if (!file) return defaultRunContext();
  if (loaded?.file === file) return loaded.ctx;
  if (!existsSync(file)) throw new Error(`${RUN_CONTEXT_ENV} names ${file}, which does not exist (the run that wrote it has ended)`);
  const ctx = JSON.parse(readFileSync(file, 'utf8')) as RunContext;
  if (ctx.schema !== RUN_CONTEXT_SCHEMA) throw new Error(`${file} is not a ${RUN_CONTEXT_SCHEMA} run context`);
  loaded = { file, ctx };
  return ctx;
}

/** Makes `ctx` this process's context and names its file for the processes it starts (jest workers). */
export function useRunContext(ctx: RunContext, at?: string): void {
  const file = writeRunContext(ctx, at);
  loaded = { file, ctx };
  process.env[RUN_CONTEXT_ENV] = file;
}

/** The registry password the run put in its secret file. */
export function registryPassword(ctx: RunContext): string | undefined {
  const file = ctx.registry?.passwordFile;
  return file && existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

/** A 0600 file in a private 0700 directory holding `secret`; `remove()` deletes both. */
export function writeSecretFile(secret: string): { file: string; remove(): void } {
  const dir = privateTempDir('secret');
  const file = resolve(dir, 'password');
  writeFileSync(file, secret, { mode: 0o600 });
  return { file, remove: () => removePrivateTempDir(dir) };
}

/** What the before halves recorded in `stateFile` (empty when they recorded nothing). */
export function readUpgradeState(stateFile: string): Record<string, unknown> {
  return existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, unknown>) : {};
}
