/**
 * Policy test cases: facts in, expected effect (and code, rule ids, reason text, visibility) out.
 * Pure: runs against a compiled engine and reports each case; the CLI prints and sets the exit code.
 */
import type { Decision } from './types.js';
import type { PolicyEngine } from './engine.js';
import { callFactsFromInput, egressFactsFromInput, visibilityFromInput } from './facts-input.js';
import type { PolicyTestCase } from './schema.js';

export interface PolicyTestResult {
  name: string;
  passed: boolean;
  /** What differed, one line per difference; empty when passed. */
  failures: string[];
  decision?: Decision;
  visible?: boolean;
}

export interface PolicyTestReport {
  passed: number;
  failed: number;
  results: PolicyTestResult[];
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sorted = [...b].sort();
  return [...a].sort().every((x, i) => x === sorted[i]);
}

function runOne(engine: PolicyEngine, test: PolicyTestCase): PolicyTestResult {
  const failures: string[] = [];
  const expect = test.expect;
  try {
    if (test.visible !== undefined) {
      const { principal, tool } = visibilityFromInput(test.visible);
      const visible = engine.visible(principal, tool);
      if (expect.visible !== undefined && visible !== expect.visible)
        failures.push(`expected visible ${expect.visible}, got ${visible}`);
      return { name: test.name, passed: failures.length === 0, failures, visible };
    }
    const decision =
      test.facts !== undefined
        ? engine.evaluate(callFactsFromInput(test.facts))
        : engine.evaluateEgress(egressFactsFromInput(test.egress));
    if (expect.effect !== undefined && decision.effect !== expect.effect)
      failures.push(`expected effect ${expect.effect}, got ${decision.effect} (${decision.reason})`);
    if (expect.code !== undefined && decision.code !== expect.code)
      failures.push(`expected code ${expect.code}, got ${decision.code ?? '(none)'}`);
    if (expect.rules !== undefined && !sameSet(decision.rules, expect.rules)) {
      failures.push(`expected rules [${expect.rules.join(', ')}], got [${decision.rules.join(', ')}]`);
    }
    if (expect.labelsRead !== undefined) {
      const labels = (decision as { labelsRead?: readonly string[] }).labelsRead ?? [];
      if (!sameSet(labels, expect.labelsRead))
        failures.push(`expected labelsRead [${expect.labelsRead.join(', ')}], got [${labels.join(', ')}]`);
    }
    if (expect.reasonIncludes !== undefined && !decision.reason.includes(expect.reasonIncludes)) {
      failures.push(`expected the reason to include "${expect.reasonIncludes}", got "${decision.reason}"`);
    }
    return { name: test.name, passed: failures.length === 0, failures, decision };
  } catch (error) {
    return {
      name: test.name,
      passed: false,
      failures: [`could not run: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`],
    };
  }
}

export function runPolicyTests(engine: PolicyEngine, cases: readonly PolicyTestCase[]): PolicyTestReport {
  const results = cases.map((test) => runOne(engine, test));
  const passed = results.filter((r) => r.passed).length;
  return { passed, failed: results.length - passed, results };
}
