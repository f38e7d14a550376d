/**
 * What a catalog load costs the event loop in compiling its tools' JSON Schemas
 * (connectors/json-schema-engines.ts): a new compiler and ten argument schemas, as an MCP upstream's reloaded
 * tool list or a new HTTP connector brings them. Against loads whose engines are new each time and run ajv's own meta-schema check, which
 * compiles the meta-schema's validator in every new engine (what every load did before the check moved to
 * engines kept for the process). Loads of each kind alternate; medians in milliseconds a load, and their
 * ratio (the gateway's over the fresh engines').
 */
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import { ARGUMENT_VALIDATION_OPTIONS } from '../connectors/ajv-options.js';
import { createSchemaEngines } from '../connectors/json-schema-engines.js';
import { percentile } from './lib/stats.js';
import { parseArgs } from 'node:util';
import { isEntryPoint, readCommandLine } from './lib/command.js';

const require = createRequire(import.meta.url);
const addFormats = require('ajv-formats') as (ajv: Ajv) => unknown;

export interface SchemaCompileBenchResult {
  loads: number;
  schemasPerLoad: number;
  /** Milliseconds a load, at the median: engines whose meta-schema check is ajv's own, in every new engine. */
  freshEnginesMs: number;
  /** The same with the gateway's engines (the check made by the process's engines). */
  gatewayMs: number;
  /** gatewayMs / freshEnginesMs. */
  ratio: number;
}

const SCHEMAS_PER_LOAD = 10;

/** A tool's argument schema, new each time (ajv caches compiled schemas by object). */
function argumentSchema(n: number): Record<string, unknown> {
  return {
    type: 'object',
    title: `tool ${n}`,
    properties: {
      id: { type: 'string', minLength: 1 },
      count: { type: 'integer', minimum: 0, maximum: 1000 },
      email: { type: 'string', format: 'email' },
      tags: { type: 'array', items: { type: 'string' }, maxItems: 10 },
    },
    required: ['id'],
    additionalProperties: false,
  };
}

const medianOf = (values: readonly number[]): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

function timeLoad(compile: (schema: Record<string, unknown>) => unknown, first: number): number {
  const started = performance.now();
  for (let i = 0; i < SCHEMAS_PER_LOAD; i++) compile(argumentSchema(first + i));
  return performance.now() - started;
}

export function runSchemaCompileBench(loads = 30): SchemaCompileBenchResult {
  const fresh: number[] = [];
  const gateway: number[] = [];
  let n = 0;
  // One load of each first, unmeasured: the process's checker and the JIT warm up as in a running gateway.
  const warmEngines = createSchemaEngines();
  timeLoad((schema) => warmEngines.compile(schema), n);
  n += SCHEMAS_PER_LOAD;
  for (let load = 0; load < loads; load++) {
    const started = performance.now();
    const engine = new Ajv(ARGUMENT_VALIDATION_OPTIONS);
    addFormats(engine);
    timeLoad((schema) => engine.compile(schema), n);
    fresh.push(performance.now() - started);
    n += SCHEMAS_PER_LOAD;
    const engines = createSchemaEngines();
    gateway.push(timeLoad((schema) => engines.compile(schema), n));
    n += SCHEMAS_PER_LOAD;
  }
  const freshEnginesMs = medianOf(fresh);
  const gatewayMs = medianOf(gateway);
  return {
    loads,
    schemasPerLoad: SCHEMAS_PER_LOAD,
    freshEnginesMs: Number(freshEnginesMs.toFixed(2)),
    gatewayMs: Number(gatewayMs.toFixed(2)),
    ratio: Number((gatewayMs / freshEnginesMs).toFixed(2)),
  };
}

const USAGE = `usage: node --import tsx bench/schema-compile-bench.ts

What a catalog load costs the event loop in compiling its tools' JSON Schemas, with the engines kept for
the process against new ones each time (ms a load, medians, and their ratio).`;

if (isEntryPoint(import.meta.url)) {
  readCommandLine(USAGE, (args) => parseArgs({ args, options: {} }));
  console.log(JSON.stringify(runSchemaCompileBench(), null, 2));
}
