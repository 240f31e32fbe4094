import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Examples import the package by name, as users do; tests run them against the sources.
    alias: [
      { find: /^pipl-guard\/audit$/, replacement: src('audit/index.ts') },
      { find: /^pipl-guard\/express$/, replacement: src('adapters/express/index.ts') },
      { find: /^pipl-guard\/koa$/, replacement: src('adapters/koa/index.ts') },
      { find: /^pipl-guard\/postgres$/, replacement: src('postgres/index.ts') },
      { find: /^pipl-guard\/redis$/, replacement: src('redis/index.ts') },
      { find: /^pipl-guard\/diagnostics$/, replacement: src('diagnostics/index.ts') },
      { find: /^pipl-guard\/otel$/, replacement: src('otel/index.ts') },
      { find: /^pipl-guard\/openapi$/, replacement: src('openapi/index.ts') },
      { find: /^pipl-guard$/, replacement: src('index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    pool: 'forks',
  },
});
