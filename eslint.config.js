import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Layering (docs/adr/0007-domain-errors-and-layering.md): infrastructure and the
 * domain vocabulary import no feature module; services import neither the HTTP
 * layer nor Fastify. Tests are exempt (an infrastructure test may use a real
 * module's family as its fixture).
 */
const noModules = { group: ['**/modules/**'], message: 'infrastructure and src/domain import nothing from src/modules (ADR 0007): pass what you need in through src/runtime.ts, or move the shared type to src/domain' };
const noHttp = { group: ['**/http/**'], message: 'services and src/domain import nothing from src/http (ADR 0007): throw domain errors (src/domain/errors.ts), use src/domain types' };
const noFastify = { group: ['fastify', 'fastify/**', '@fastify/**', 'fastify-*'], message: 'services are framework-free (ADR 0007)' };
/** The framework-free files of a module: everything but its routes, its composition (index.ts) and its tests. */
const SERVICE_FILES = ['src/modules/**/*.ts'];
const NOT_SERVICE_FILES = ['src/modules/**/routes.ts', 'src/modules/**/index.ts', '**/*.test.ts', 'src/modules/**/*-test-kit.ts'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'coverage/**', '.tmp/**', 'bench/results/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // The web dashboard (web/src): browser code; it talks to Opsdeck only through the HTTP API.
    // It may import the server's *types* of the API answers (`import type`, erased from the bundle),
    // so a changed answer fails the web typecheck instead of drifting from a hand-written copy.
    // Browser globals need no list: TypeScript (web/tsconfig.json, DOM lib) checks names, so no-undef is off for .ts/.tsx.
    files: ['web/**/*.ts', 'web/**/*.tsx'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/src/**', 'node:*'], message: 'the dashboard runs in the browser and uses the HTTP API only (import type of an answer is allowed)', allowTypeImports: true }] },
      ],
    },
  },
  {
    files: ['src/db/**/*.ts', 'src/timeseries/**/*.ts', 'src/jobs/**/*.ts', 'src/http/**/*.ts', 'src/net/**/*.ts', 'src/crypto/**/*.ts', 'src/web/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [noModules] }] },
  },
  {
    files: ['src/domain/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [noModules, noHttp, noFastify] }] },
  },
  {
    files: SERVICE_FILES,
    ignores: NOT_SERVICE_FILES,
    rules: { 'no-restricted-imports': ['error', { patterns: [noHttp, noFastify] }] },
  },
);
