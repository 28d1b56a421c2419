// ESLint for the whole repository (npm run lint runs it, then prettier --check).
//
// typescript-eslint's `strict` preset, syntactic only: the type-checked variant (strictTypeChecked)
// took 54 s and 1.9 GB on the 2-core CI machine against 6 s and 0.6 GB for this one, and its first
// run reported ~1,300 findings beyond this preset's, 721 of them no-unsafe-* (mostly test code reading
// untyped JSON answers) and 228 restrict-template-expressions.
// eslint-config-prettier comes last so that layout is Prettier's alone.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  // Generated or not ours: the OpenAPI documents and the client's types are generated from the
  // gateway; deploy/ holds manifests and the Helm chart, no code.
  globalIgnores(['**/node_modules/', '.data/', 'artifacts/', 'docs/openapi/', 'libs/client/src/gateway.d.ts', 'deploy/']),
  js.configs.recommended,
  tseslint.configs.strict,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: { globals: globals.nodeBuiltin },
    rules: {
      // An argument a signature requires but the body does not use is named _x; a rest sibling
      // drops a key from an object on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Allowed: with noUncheckedIndexedAccess every indexed read (m[1] after a regex matched,
      // rows[0] after a length check) is `T | undefined`; `!` there states what the line above
      // checked. Forbidding it meant 521 edits (285 outside services/ and libs/kit/), each a
      // runtime check that cannot fail.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Services and libraries log through pino (structured, with the trace id), never the console.
      'no-console': 'error',
    },
  },
  {
    // Tests, benchmarks and the command-line tools (the local stack, *-cli.ts, the client
    // generator) talk to a terminal.
    files: ['**/test/**', '**/*.test.ts', 'test/**', '**/bench/**', 'tools/stack/**', '**/*-cli.ts', 'libs/client/src/generate.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // The gateway's pages: plain ES modules run by the browser (type-checked by // @ts-check).
    files: ['services/gateway/src/pages/static/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
  prettier,
);
