#!/usr/bin/env node
// From a checkout, the TypeScript CLI through tsx (no build step); from the installed package, the
// compiled one (the package ships no cli/main.ts), without a loader.
import { existsSync } from 'node:fs';

const source = new URL('../cli/main.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else await import('../dist/cli/main.js');
