/**
 * `portcullis policy validate|test|explain|schema`: work on policy files without a running gateway.
 * Exit codes: 0 ok, 1 the policy is invalid or a test case failed, 2 usage error (bad arguments, an
 * unreadable or malformed facts file).
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { ZodError } from 'zod';
import {
  callFactsFromInput,
  compilePolicy,
  egressFactsFromInput,
  formatPolicyProblem,
  isPolicyCompileError,
  policyJsonSchema,
  policyTestsJsonSchema,
  runPolicyTests,
  type Decision,
  type ParsedPolicy,
  type PolicyEngine,
  type RuleTrace,
} from '../../../../policies/index.js';
import {
  knownNamesFromConfig,
  readPolicyFiles,
  readPolicyTests,
  unknownPolicyReferences,
} from '../../../services/policy/index.js';
import { ConfigError, loadConfigFile } from '../../../config/index.js';

/** Where the command writes and how it reports its exit code (tests pass their own). */
export interface PolicyCliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  setExitCode(code: 0 | 1 | 2): void;
}

const processIo: PolicyCliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  setExitCode: (code) => {
    process.exitCode = code;
  },
};

class UsageError extends Error {
  readonly code = 'USAGE_ERROR';
}

/** `*.tests.yaml` files are test cases, not policies: a shell glob such as `policies/*.yaml` may include them. */
function policyFilesOnly(files: readonly string[]): string[] {
  return files.filter((file) => !/\.tests\.ya?ml$/.test(file));
}

/** Read and compile policy files; prints every problem and returns undefined when invalid. */
async function loadEngine(
  allFiles: readonly string[],
  io: PolicyCliIo,
): Promise<{ engine: PolicyEngine; documents: ParsedPolicy[] } | undefined> {
  const files = policyFilesOnly(allFiles);
  if (files.length === 0) throw new UsageError('no policy files given (only *.tests.yaml)');
  try {
    const documents = await readPolicyFiles(files);
    return { engine: compilePolicy(documents), documents };
  } catch (error) {
    if (!isPolicyCompileError(error)) throw error;
    for (const problem of error.problems) io.stderr(`${formatPolicyProblem(problem)}\n`);
    io.setExitCode(1);
    return undefined;
  }
}

async function readFacts(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new UsageError(
      `${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'} (${error instanceof Error ? error.message.split('\n')[0] : ''})`,
    );
  }
}

function describeDecision(decision: Decision): string {
  const lines = [
    `decision: ${decision.effect}${decision.code !== undefined ? ` (${decision.code})` : ''}`,
    `reason:   ${decision.reason}`,
  ];
  lines.push(`rules:    ${decision.rules.length > 0 ? decision.rules.join(', ') : '(none)'}`);
  if (decision.approval !== undefined) {
    lines.push(
      `approval: ${decision.approval.approvers} approver(s)${decision.approval.maxTtlSeconds !== undefined ? `, grants up to ${decision.approval.maxTtlSeconds}s` : ''}`,
    );
  }
  const extra = decision as Decision & {
    rateLimits?: { rule: string; calls: number; perSeconds: number }[];
    labelsRead?: string[];
    errors?: { rule: string; message: string }[];
  };
  for (const limit of extra.rateLimits ?? [])
    lines.push(`limit:    ${limit.calls} calls per ${limit.perSeconds}s (rule ${limit.rule})`);
  if (extra.labelsRead !== undefined) lines.push(`reads:    ${extra.labelsRead.join(', ')}`);
  for (const error of extra.errors ?? []) lines.push(`error:    rule ${error.rule}: ${error.message}`);
  lines.push(`policy:   ${decision.policyVersion ?? '(unknown)'}`);
  return lines.join('\n');
}

function describeTrace(trace: readonly RuleTrace[]): string {
  const mark: Record<RuleTrace['outcome'], string> = {
    matched: 'MATCH',
    missed: 'miss ',
    error: 'ERROR',
    'not-applicable': '  -  ',
  };
  return trace.map((t) => `  ${mark[t.outcome]}  ${t.rule} [${t.effect}]: ${t.reason}`).join('\n');
}

function zodUsage(file: string, error: ZodError): UsageError {
  const issues = error.issues.map(
    (i) =>
      `${i.path.map(String).join('.') || '(root)'}: ${i.code === 'unrecognized_keys' ? `unknown key(s) ${i.keys.join(', ')}` : i.message}`,
  );
  return new UsageError(`${file}: invalid facts\n  ${issues.join('\n  ')}`);
}

function guarded(io: PolicyCliIo, action: () => Promise<void>): Promise<void> {
  return action().catch((error: unknown) => {
    if (error instanceof UsageError) {
      io.stderr(`portcullis policy: ${error.message}\n`);
      io.setExitCode(2);
      return;
    }
    if (isPolicyCompileError(error)) {
      for (const problem of error.problems) io.stderr(`${formatPolicyProblem(problem)}\n`);
      io.setExitCode(1);
      return;
    }
    throw error;
  });
}

export function policyCommand(io: PolicyCliIo = processIo): Command {
  const command = new Command('policy').description('validate, test and explain policy files (no gateway needed)');

  command
    .command('validate')
    .argument('<files...>', 'policy YAML files (validated together: rule ids must be unique across them)')
    .option('--config <file>', 'also check that rules name only agents, roles, connectors and tools it defines')
    .description('check policy files; prints file:path: message for every problem')
    .action((files: string[], options: { config?: string }) =>
      guarded(io, async () => {
        const loaded = await loadEngine(files, io);
        if (loaded === undefined) return;
        if (options.config !== undefined) {
          let config;
          try {
            config = (await loadConfigFile(options.config)).config;
          } catch (error) {
            if (error instanceof ConfigError) throw new UsageError(error.message);
            throw error;
          }
          const problems = unknownPolicyReferences(loaded.documents, knownNamesFromConfig(config));
          for (const p of problems)
            io.stderr(`${p.file}${p.line !== undefined ? `:${p.line}` : ''}: rule ${p.rule}: ${p.message}\n`);
          if (problems.length > 0) {
            io.setExitCode(1);
            return;
          }
        }
        for (const doc of loaded.documents) io.stdout(`${doc.file}: valid (${doc.document.rules.length} rules)\n`);
        io.stdout(`policy version ${loaded.engine.version}\n`);
        io.setExitCode(0);
      }),
    );

  command
    .command('test')
    .argument('<files...>', 'policy YAML files; their inline `tests:` and sibling <name>.tests.yaml are run')
    .description('run the test cases shipped with the policy')
    .action((files: string[]) =>
      guarded(io, async () => {
        const loaded = await loadEngine(files, io);
        if (loaded === undefined) return;
        let passed = 0;
        let failed = 0;
        for (const doc of loaded.documents) {
          for (const suite of await readPolicyTests(doc)) {
            io.stdout(`${suite.file}\n`);
            const report = runPolicyTests(loaded.engine, suite.cases);
            for (const result of report.results) {
              io.stdout(`  ${result.passed ? 'pass' : 'FAIL'}  ${result.name}\n`);
              for (const failure of result.failures) io.stdout(`        ${failure}\n`);
            }
            passed += report.passed;
            failed += report.failed;
          }
        }
        if (passed + failed === 0) {
          io.stderr('portcullis policy: no test cases found (add `tests:` or a sibling <name>.tests.yaml)\n');
          io.setExitCode(1);
          return;
        }
        io.stdout(`${passed} passed, ${failed} failed\n`);
        io.setExitCode(failed > 0 ? 1 : 0);
      }),
    );

  command
    .command('explain')
    .requiredOption('--policy <files...>', 'policy YAML files')
    .requiredOption(
      '--facts <file>',
      'the call to decide, JSON or YAML (a test case `facts` object, or `{ egress: {...} }`)',
    )
    .option('--json', 'print the decision and trace as JSON')
    .description('decide one described call and show, rule by rule, why it matched or missed')
    .action((opts: { policy: string[]; facts: string; json?: boolean }) =>
      guarded(io, async () => {
        const raw = await readFacts(opts.facts);
        const loaded = await loadEngine(opts.policy, io);
        if (loaded === undefined) return;
        const isEgress = raw !== null && typeof raw === 'object' && 'egress' in raw;
        let result: { decision: Decision; trace: RuleTrace[] };
        try {
          result = isEgress
            ? loaded.engine.explainEgress(egressFactsFromInput((raw as { egress: unknown }).egress))
            : loaded.engine.explain(
                callFactsFromInput(
                  raw !== null && typeof raw === 'object' && 'facts' in raw ? (raw as { facts: unknown }).facts : raw,
                ),
              );
        } catch (error) {
          if (error instanceof ZodError) throw zodUsage(opts.facts, error);
          throw error;
        }
        if (opts.json === true) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
        else io.stdout(`${describeDecision(result.decision)}\ntrace:\n${describeTrace(result.trace)}\n`);
        io.setExitCode(0);
      }),
    );

  command
    .command('schema')
    .option('--tests', 'the schema of <name>.tests.yaml files instead')
    .description('print the JSON Schema of policy files (for editors)')
    .action((opts: { tests?: boolean }) => {
      io.stdout(`${JSON.stringify(opts.tests === true ? policyTestsJsonSchema() : policyJsonSchema(), null, 2)}\n`);
    });

  return command;
}
