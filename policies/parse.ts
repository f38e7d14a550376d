/**
 * From YAML text to validated policy documents and test cases. Pure: the caller reads the files.
 *
 * Every problem becomes a PolicyCompileError naming the file, the dotted path to the bad key and, when the
 * YAML says where that key is, its line. Duplicate keys are errors (a second `effect:` must not quietly
 * win). Nothing is half-parsed: a file is valid as a whole or rejected.
 */
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { PolicyCompileError, type PolicyProblem } from './errors.js';
import { PolicyDocumentSchema, PolicyTestFileSchema, type PolicyDocument, type PolicyTestCase } from './schema.js';

/** A validated document and where it came from. */
export interface ParsedPolicy {
  file: string;
  document: PolicyDocument;
  /** 1-based line of the key at `path`, when the document came from YAML. */
  lineOf?(path: readonly (string | number)[]): number | undefined;
}

interface YamlSource {
  value: unknown;
  lineOf(path: readonly (string | number)[]): number | undefined;
}

function readYaml(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  const document: Document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (document.errors.length > 0) {
    throw new PolicyCompileError(
      document.errors.map((e) => ({
        file,
        path: '',
        message: `YAML: ${e.message.split('\n')[0] ?? e.message}`,
        line: lineCounter.linePos(e.pos[0]).line,
      })),
    );
  }
  const lineOf = (path: readonly (string | number)[]): number | undefined => {
    for (let depth = path.length; depth >= 0; depth--) {
      const node: unknown = depth === 0 ? document.contents : document.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range !== undefined && node.range !== null)
        return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  return { value: document.toJS({ maxAliasCount: 100 }) as unknown, lineOf };
}

/** zod issues as problems; unknown keys point at the key itself. */
export function zodPolicyProblems(
  error: z.ZodError,
  file: string,
  lineOf?: (path: readonly (string | number)[]) => number | undefined,
): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = [...base, key];
        const line = lineOf?.(path);
        problems.push({
          file,
          path: path.join('.'),
          message: `unknown key "${key}"`,
          ...(line !== undefined ? { line } : {}),
        });
      }
      continue;
    }
    const line = lineOf?.(base);
    const message = issue.code === 'invalid_union' ? 'does not match any accepted form' : issue.message;
    problems.push({ file, path: base.join('.'), message, ...(line !== undefined ? { line } : {}) });
  }
  return problems;
}

/** Validate an already-parsed value (e.g. a JSON object) as a policy document. */
export function parsePolicyObject(
  value: unknown,
  file: string,
  lineOf?: (path: readonly (string | number)[]) => number | undefined,
): ParsedPolicy {
  const parsed = PolicyDocumentSchema.safeParse(value ?? {});
  if (!parsed.success) throw new PolicyCompileError(zodPolicyProblems(parsed.error, file, lineOf));
  return { file, document: parsed.data, ...(lineOf !== undefined ? { lineOf } : {}) };
}

/** Parse and validate one policy YAML document. Throws PolicyCompileError (code POLICY_INVALID). */
export function parsePolicyYaml(text: string, file: string): ParsedPolicy {
  const source = readYaml(text, file);
  return parsePolicyObject(source.value, file, source.lineOf);
}

/** Parse a sibling `<name>.tests.yaml` (`tests: [...]`). Throws PolicyCompileError. */
export function parsePolicyTestsYaml(text: string, file: string): PolicyTestCase[] {
  const source = readYaml(text, file);
  const parsed = PolicyTestFileSchema.safeParse(source.value ?? {});
  if (!parsed.success) throw new PolicyCompileError(zodPolicyProblems(parsed.error, file, source.lineOf));
  return parsed.data.tests;
}
