/**
 * Reading policy files from disk: the only I/O the policy engine needs, shared by the store (hot reload)
 * and the CLI. A file is read whole and parsed whole; a missing or unreadable file is a PolicyCompileError
 * naming it, like any other invalid policy.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  parsePolicyTestsYaml,
  parsePolicyYaml,
  PolicyCompileError,
  type ParsedPolicy,
  type PolicyTestCase,
} from '../../../policies/index.js';

export interface PolicyTestSuite {
  /** The policy file the cases belong to. */
  policyFile: string;
  /** Where the cases were written: the policy file itself (inline `tests:`) or its sibling `.tests.yaml`. */
  file: string;
  cases: PolicyTestCase[];
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new PolicyCompileError([{ file, path: '', message: `cannot read file (${code})` }]);
  }
}

/** Read and validate one policy file. */
export async function readPolicyFile(file: string): Promise<ParsedPolicy> {
  return parsePolicyYaml(await readText(file), file);
}

/**
 * Read and validate policy files, all of them: problems from every file are collected into one
 * PolicyCompileError, so an operator sees everything that is wrong at once.
 */
export async function readPolicyFiles(files: readonly string[]): Promise<ParsedPolicy[]> {
  const results = await Promise.allSettled(files.map((file) => readPolicyFile(path.resolve(file))));
  const problems = results.flatMap((r) =>
    r.status === 'rejected'
      ? r.reason instanceof PolicyCompileError
        ? r.reason.problems
        : [{ file: '', path: '', message: String(r.reason) }]
      : [],
  );
  if (problems.length > 0) throw new PolicyCompileError(problems);
  return results.map((r) => (r as PromiseFulfilledResult<ParsedPolicy>).value);
}

/** `support.yaml` -> `support.tests.yaml` (same folder). */
export function siblingTestsFile(policyFile: string): string {
  const ext = path.extname(policyFile);
  return `${policyFile.slice(0, policyFile.length - ext.length)}.tests${ext || '.yaml'}`;
}

/** The test cases shipped with a policy: inline `tests:` and/or a sibling `<name>.tests.yaml`. */
export async function readPolicyTests(policy: ParsedPolicy): Promise<PolicyTestSuite[]> {
  const suites: PolicyTestSuite[] = [];
  if (policy.document.tests !== undefined && policy.document.tests.length > 0) {
    suites.push({ policyFile: policy.file, file: policy.file, cases: policy.document.tests });
  }
  const sibling = siblingTestsFile(policy.file);
  let text: string | undefined;
  try {
    text = await readFile(sibling, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new PolicyCompileError([
        { file: sibling, path: '', message: `cannot read file (${(error as NodeJS.ErrnoException).code ?? 'error'})` },
      ]);
  }
  if (text !== undefined)
    suites.push({ policyFile: policy.file, file: sibling, cases: parsePolicyTestsYaml(text, sibling) });
  return suites;
}
