// jest's transform for TypeScript suite and test files: esbuild (the compiler tsx runs on) strips
// the types, as tsc checks them separately; jest needs no second TypeScript compiler.
import { transformSync } from 'esbuild';

interface TransformOptions {
  supportsStaticESM?: boolean;
}

function process(source: string, filename: string, options: TransformOptions): { code: string } {
  const { code } = transformSync(source, {
    loader: 'ts',
    format: options.supportsStaticESM === false ? 'cjs' : 'esm',
    target: 'node20',
    sourcefile: filename,
    sourcemap: 'inline',
  });
  return { code };
}

export default { process };
