/**
 * CEL conditions (`when:`), on @marcbachmann/cel-js.
 *
 * Each condition is parsed and type-checked once, at compile time, against the variables the engine
 * provides: `args`, `principal`, `task`, `tool`, `http` (maps) and `now` (a timestamp). Unknown variables
 * or functions, syntax errors and expressions whose type cannot be a bool are compile errors.
 *
 * Values reach CEL with one conversion: JSON numbers that are safe integers become CEL `int`, other numbers
 * stay `double`, so `args.amount <= 100`, `args.count + 1 == 2` and `args.price < 9.5` all read as
 * written (mixing int and double in arithmetic needs `double(x)`, as CEL requires). Missing map keys are
 * errors, as CEL specifies; test for them with `has(args.x)`.
 *
 * Evaluation never throws: it reports `true`, `false` or an error (including a non-boolean result); the
 * caller decides what an error means for the rule (fail closed).
 */
import { Environment, type ParseResult } from '@marcbachmann/cel-js';

export type ConditionResult = { ok: true; value: boolean } | { ok: false; error: string };

export interface CelActivation {
  args: unknown;
  principal: unknown;
  task: unknown;
  tool: unknown;
  http: unknown;
  now: Date;
}

export type CelVariable = 'args' | 'principal' | 'task' | 'tool' | 'http' | 'now';

export interface CompiledCondition {
  readonly source: string;
  /** Variables the expression mentions: only these need converting for an evaluation. */
  readonly variables: ReadonlySet<CelVariable>;
  evaluate(activation: CelActivation): ConditionResult;
}

export class CelCompileError extends Error {
  override readonly name = 'CelCompileError';
  readonly code = 'CEL_INVALID';
}

let sharedEnvironment: Environment | undefined;

function environment(): Environment {
  sharedEnvironment ??= new Environment({
    homogeneousAggregateLiterals: false,
    limits: { maxAstNodes: 2_000, maxDepth: 64 },
  })
    .registerVariable('args', 'map')
    .registerVariable('principal', 'map')
    .registerVariable('task', 'map')
    .registerVariable('tool', 'map')
    .registerVariable('http', 'map')
    .registerVariable('now', 'google.protobuf.Timestamp');
  return sharedEnvironment;
}

function firstLine(error: unknown): string {
  const summary = (error as { summary?: unknown } | null)?.summary;
  const text =
    typeof summary === 'string' && summary !== '' ? summary : error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}

/** Parse and type-check a condition. Throws CelCompileError with a one-line reason. */
export function compileCondition(source: string): CompiledCondition {
  let parsed: ParseResult;
  try {
    parsed = environment().parse(source);
  } catch (error) {
    throw new CelCompileError(`CEL syntax error: ${firstLine(error)}`);
  }
  const checked = parsed.check();
  if (!checked.valid) throw new CelCompileError(`CEL type error: ${firstLine(checked.error)}`);
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    throw new CelCompileError(`a condition must be a bool, this one is ${checked.type ?? 'unknown'}`);
  }
  const variables = new Set<CelVariable>();
  for (const name of ['args', 'principal', 'task', 'tool', 'http', 'now'] as const) {
    // Conservative: a mention inside a string literal only costs a conversion.
    if (new RegExp(`\\b${name}\\b`).test(source)) variables.add(name);
  }
  return {
    source,
    variables,
    evaluate(activation: CelActivation): ConditionResult {
      try {
        const value: unknown = parsed(activation as unknown as Record<string, unknown>);
        if (typeof value === 'boolean') return { ok: true, value };
        return { ok: false, error: `condition returned ${describeType(value)}, not a bool` };
      } catch (error) {
        return { ok: false, error: firstLine(error) };
      }
    },
  };
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'number') return 'double';
  if (Array.isArray(value)) return 'list';
  if (value instanceof Date) return 'timestamp';
  return typeof value === 'object' ? 'map' : typeof value;
}

const MAX_DEPTH = 64;

/**
 * JSON-ish facts as CEL values: safe integers to `int` (bigint), arrays and plain objects copied (own
 * enumerable keys only), other values as they are. Deeper than 64 levels is an error, so hostile
 * arguments cannot exhaust the stack; the caller treats that like any other condition error.
 */
export function toCelValue(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new Error('arguments nested too deeply for conditions');
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => toCelValue(item, depth + 1));
  if (value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const member = (value as Record<string, unknown>)[key];
    if (member === undefined) continue;
    const converted = toCelValue(member, depth + 1);
    // `__proto__` as data, never as the prototype.
    if (key === '__proto__')
      Object.defineProperty(out, key, { value: converted, enumerable: true, writable: true, configurable: true });
    else out[key] = converted;
  }
  return out;
}
