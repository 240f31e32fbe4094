import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';
import { defineConfig, type Plugin } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

/**
 * vitest 4 (Oxc) does not lower standard (TC39) decorators; esbuild does. Only the files written with
 * standard decorators go through it; legacy-decorator files keep Oxc (their tsconfig sets
 * `experimentalDecorators`).
 */
const STANDARD_DECORATORS = /\/(test\/decorators|examples\/decorators)\/[^?]*\.ts$/;
function standardDecorators(): Plugin {
  return {
    name: 'pipl-guard:standard-decorators',
    enforce: 'pre',
    async transform(code, id) {
      if (!STANDARD_DECORATORS.test(id)) return null;
      const out = await transform(code, {
        loader: 'ts',
        target: 'es2022',
        format: 'esm',
        sourcemap: true,
        sourcefile: id,
      });
      return { code: out.code, map: out.map };
    },
  };
}

export default defineConfig({
  plugins: [standardDecorators()],
  resolve: {
    // Examples import the package by name, as users do; tests run them against the sources.
    alias: [
      { find: /^pipl-guard\/audit$/, replacement: src('audit/index.ts') },
      { find: /^pipl-guard\/express$/, replacement: src('adapters/express/index.ts') },
      { find: /^pipl-guard\/koa$/, replacement: src('adapters/koa/index.ts') },
      { find: /^pipl-guard\/postgres$/, replacement: src('postgres/index.ts') },
      { find: /^pipl-guard\/redis$/, replacement: src('redis/index.ts') },
      { find: /^pipl-guard\/records$/, replacement: src('records/index.ts') },
      { find: /^pipl-guard\/diagnostics$/, replacement: src('diagnostics/index.ts') },
      { find: /^pipl-guard\/otel$/, replacement: src('otel/index.ts') },
      { find: /^pipl-guard\/openapi$/, replacement: src('openapi/index.ts') },
      { find: /^pipl-guard\/decorators$/, replacement: src('decorators/index.ts') },
      { find: /^pipl-guard\/nestjs$/, replacement: src('nestjs/index.ts') },
      { find: /^pipl-guard\/midway$/, replacement: src('midway/index.ts') },
      { find: /^pipl-guard\/routing-controllers$/, replacement: src('routing-controllers/index.ts') },
      { find: /^pipl-guard$/, replacement: src('index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    pool: 'forks',
  },
});
