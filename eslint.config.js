// Lint rules, including the architecture's dependency direction (docs/design.md section 3):
// connectors/ and policies/ are leaves; only the MCP edge and the MCP connector import the MCP SDK;
// only gateway/services/telemetry/sdk.ts imports the OpenTelemetry SDK (the composition root starts it, through
// telemetry/start.ts, which loads it only when tracing is on). Layering and
// import cycles are checked by dependency-cruiser (.dependency-cruiser.cjs), also part of `npm run lint`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const sdkOnlyIn = ['gateway/edges/mcp/**', 'connectors/mcp/**', 'test/**', 'examples/**', 'bench/**', 'evals/**'];
const mcpSdk = {
  group: [
    '@modelcontextprotocol/sdk',
    '@modelcontextprotocol/sdk/*',
    '@modelcontextprotocol/client',
    '@modelcontextprotocol/client/*',
    '@modelcontextprotocol/core',
    '@modelcontextprotocol/core/*',
    '@modelcontextprotocol/server',
    '@modelcontextprotocol/server/*',
    '@modelcontextprotocol/node',
    '@modelcontextprotocol/express',
  ],
  message: 'Only gateway/edges/mcp and connectors/mcp import the MCP SDK.',
};
const otelSdk = {
  group: ['@opentelemetry/sdk-*', '@opentelemetry/exporter-*'],
  message:
    'Only gateway/services/telemetry/sdk.ts imports the OpenTelemetry SDK (started by gateway/compose.ts); use @opentelemetry/api.',
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'coverage/',
      'test-artifacts/',
      'reports/',
      '.stryker-tmp/',
      '**/*.d.ts',
      // Written by scripts/generate-meta-schema-validator.ts (ajv's standalone code).
      'connectors/draft-07-meta-schema-validator.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'error',
    },
  },
  {
    files: ['**/*.ts'],
    ignores: [...sdkOnlyIn, 'gateway/services/telemetry/sdk.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [mcpSdk, otelSdk] }] },
  },
  {
    files: ['gateway/edges/mcp/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [otelSdk] }] },
  },
  {
    files: ['connectors/**/*.ts'],
    ignores: ['connectors/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/gateway/**', '**/gateway', '**/policies/**', '**/policies'],
              message: 'connectors/ is a leaf: it imports nothing from gateway/ or policies/.',
            },
            otelSdk,
          ],
        },
      ],
    },
  },
  {
    files: ['connectors/**/*.ts'],
    ignores: ['connectors/mcp/**', 'connectors/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/gateway/**', '**/gateway', '**/policies/**', '**/policies'],
              message: 'connectors/ is a leaf: it imports nothing from gateway/ or policies/.',
            },
            mcpSdk,
            otelSdk,
          ],
        },
      ],
    },
  },
  {
    files: ['policies/**/*.ts'],
    ignores: ['policies/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            'node:fs',
            'node:fs/promises',
            'fs',
            'node:net',
            'node:http',
            'node:https',
            'node:child_process',
            'undici',
          ].map((name) => ({ name, message: 'policies/ is pure: no I/O.' })),
          patterns: [
            {
              group: ['**/gateway/**', '**/gateway', '**/connectors/**', '**/connectors'],
              message: 'policies/ is a leaf: it imports nothing from gateway/ or connectors/.',
            },
            mcpSdk,
            otelSdk,
          ],
        },
      ],
    },
  },
  {
    files: ['gateway/edges/operator/console/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: [
      'test/**',
      'evals/**',
      'bench/**',
      'examples/**',
      'scripts/**',
      'bin/**',
      'gateway/edges/cli/**',
      '**/*.test.ts',
    ],
    rules: { 'no-console': 'off' },
  },
);
