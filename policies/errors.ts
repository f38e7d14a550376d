/**
 * The one error a policy can fail to load with. It names the file and the dotted path to the bad key
 * (e.g. `rules.2.when`) so `policy validate` and the hot-reload status can point at it; messages never
 * quote argument values or secrets (policies contain neither).
 */

export interface PolicyProblem {
  file: string;
  /** Dotted path to the offending key, '' for the document itself. */
  path: string;
  message: string;
  /** 1-based line in the file, when known. */
  line?: number;
}

export class PolicyCompileError extends Error {
  override readonly name = 'PolicyCompileError';
  readonly code = 'POLICY_INVALID';
  /** Every problem found, in file order. */
  readonly problems: readonly PolicyProblem[];
  /** File of the first problem. */
  readonly file: string;
  /** Key path of the first problem. */
  readonly path: string;

  constructor(problems: readonly PolicyProblem[]) {
    super(problems.map(formatPolicyProblem).join('\n') || 'invalid policy');
    this.problems = problems;
    this.file = problems[0]?.file ?? '';
    this.path = problems[0]?.path ?? '';
  }
}

/** `file:path: message`, with the line when known: `file:path (line 12): message`. */
export function formatPolicyProblem(problem: PolicyProblem): string {
  const where = problem.path === '' ? '(document)' : problem.path;
  return `${problem.file}:${where}${problem.line !== undefined ? ` (line ${problem.line})` : ''}: ${problem.message}`;
}

export function isPolicyCompileError(error: unknown): error is PolicyCompileError {
  return error instanceof PolicyCompileError;
}
