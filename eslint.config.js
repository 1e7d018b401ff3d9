// ESLint flat config for the whole repository: `npm run lint` (eslint .).
// typescript-eslint's recommended rules, without type information: the type-aware rule sets
// would roughly triple the time of a lint run, and `tsc` (npm run build) already checks types.
import js from '@eslint/js'; // ships with eslint itself (its own dependency, same version)
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** What Node provides to our few plain JavaScript files (bin/, scripts/). */
const nodeGlobals = {
  process: 'readonly',
  console: 'readonly',
  Buffer: 'readonly',
  URL: 'readonly',
  setTimeout: 'readonly',
  clearTimeout: 'readonly',
  fetch: 'readonly',
};

export default defineConfig(
  globalIgnores([
    '**/node_modules/',
    '**/dist/',
    '**/data/',
    '**/coverage/',
    // Hidden folders hold tools' state and scratch work (bench/.work, editors' folders).
    '**/.*/',
  ]),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: nodeGlobals },
    rules: {
      // `const { text: _text, ...rest } = resource` is how we drop a field; `_x` marks a
      // parameter a signature needs but the body does not.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // We match control characters on purpose: to strip them from what reaches an operator's
      // terminal or a mail header (header injection), which is a security measure, not a typo.
      'no-control-regex': 'off',
    },
  },
  {
    files: ['**/*.test.ts', '**/test/**/*.ts'],
    rules: {
      // Tests read JSON response bodies loosely (`res.body.meta.versionId`); the assertions
      // are what checks their shape, so `any` there costs nothing and saves casts.
      '@typescript-eslint/no-explicit-any': 'off',
      // Expected output is written as it appears, aligned columns included (`/^From:    x/`).
      'no-regex-spaces': 'off',
    },
  },
);
