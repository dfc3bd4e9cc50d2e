// ESLint flat config. The important rule here is the purity boundary: the core modules
// (isa, asm, btf, elf, verifier, vm, jit, runtime, packet, maps, ctx) must run in a browser,
// so they may not import the OS-facing modules or any Node-only module. See docs/architecture.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

/** Folders under src/ that form the pure core. */
export const PURE_CORE = ['isa', 'asm', 'btf', 'elf', 'verifier', 'vm', 'jit', 'runtime', 'packet', 'maps', 'ctx', 'debug'];
/** Folders under src/ that only the OS-facing side may import. */
export const OS_SIDE = ['kernel', 'nic', 'cli', 'dashboard'];

const nodeOnly = [...new Set(builtinModules.flatMap((m) => [m, `node:${m}`]))];

export const pureCoreRules = {
  'no-restricted-imports': [
    'error',
    {
      paths: nodeOnly.map((name) => ({
        name,
        message: 'The pure core must run in a browser: no Node-only modules (move OS access to src/kernel).',
      })),
      patterns: [
        {
          group: OS_SIDE.flatMap((d) => [`**/${d}`, `**/${d}/**`]),
          message: 'The pure core may not import kernel/, nic/, cli/ or dashboard/ (dependency direction: see docs/architecture.md).',
        },
        { group: ['node:*'], message: 'The pure core must run in a browser: no Node-only modules.' },
        { group: ['koffi', 'koffi/*'], message: 'FFI belongs in src/kernel only.' },
      ],
    },
  ],
  'no-restricted-globals': [
    'error',
    ...['process', 'Buffer', 'require', '__dirname', '__filename', 'global'].map((name) => ({
      name,
      message: `'${name}' is Node-only; the pure core must run in a browser.`,
    })),
  ],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/fixtures/**', 'bench/out/**', 'playground/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: PURE_CORE.map((d) => `src/${d}/**/*.ts`),
    rules: pureCoreRules,
  },
  {
    // Plain JavaScript examples run under Node.
    files: ['examples/**/*.mjs', 'examples/**/*.js'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly', URL: 'readonly' } },
  },
);
