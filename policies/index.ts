/**
 * The pure policy engine: parse and validate policy documents, compile them once, decide calls, egress
 * requests and tool visibility from facts, explain decisions, and run a policy's own test cases.
 * No I/O, no clock, no environment: everything a decision depends on is in its facts.
 */
export type * from './types.js';
export {
  compilePolicy,
  type CallDecision,
  type CompileOptions,
  type Explanation,
  type PolicyEngine,
  type RateLimitDirective,
  type RuleError,
  type RuleTrace,
} from './engine.js';
export { PolicyCompileError, formatPolicyProblem, isPolicyCompileError, type PolicyProblem } from './errors.js';
export { parsePolicyObject, parsePolicyTestsYaml, parsePolicyYaml, type ParsedPolicy } from './parse.js';
export { runPolicyTests, type PolicyTestReport, type PolicyTestResult } from './run-tests.js';
export { callFactsFromInput, egressFactsFromInput, visibilityFromInput, DEFAULT_TEST_NOW } from './facts-input.js';
export { policyJsonSchema, policyTestsJsonSchema, POLICY_SCHEMA_ID } from './json-schema.js';
export { isCanonicalPath, compilePathPattern } from './path-pattern.js';
export { matchNameGlob } from './glob.js';
export {
  AddressClassSchema,
  PolicyDocumentSchema,
  PolicyTestCaseSchema,
  PolicyTestFileSchema,
  RuleSchema,
  type CallFactsInput,
  type EgressFactsInput,
  type PolicyDocument,
  type PolicyDocumentInput,
  type PolicyTestCase,
  type Rule,
  type RuleInput,
} from './schema.js';
export { canonicalResourceUri, compileUriGlob, type UriMatcher } from './resource-uri.js';
