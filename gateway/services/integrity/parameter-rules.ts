/**
 * Parameters that ask the model for context: a tool that wants the conversation, its system prompt, the
 * list of other tools, other tools' output or the user's personal data as an argument has found a way to
 * read them (tool-parameter exfiltration). Judged on the parameter's name; its description goes through the
 * text rules like every other string.
 */
import { excerptOf, type Finding } from './findings.js';
import { identifierWords, schemaParameters } from './schema-texts.js';

const CONTEXT_NAMES: readonly { pattern: RegExp; weight: number; explanation: string }[] = [
  {
    pattern:
      /\b(?:conversation|chat|message|messages|dialog|dialogue)\s+(?:history|log|transcript|context)\b|\bsystem\s+prompt\b|\bprevious\s+messages?\b|\bchain\s+of\s+thought\b|\b(?:available|all|other)\s+tools\b|\btools?\s+list\b|\blast\s+tool\s+(?:result|output)\b|\bprevious\s+tool\s+(?:result|output)\b/,
    weight: 1,
    explanation: "a parameter for the conversation, the model's instructions or other tools' output",
  },
  {
    pattern:
      /\b(?:private|ssh|secret)\s+key\b|\bssh\b|\bpassword\b|\bcredentials?\b|\bcookies?\b|\buser\s+(?:details|data|info|secrets)\b|\bmodel\s+name\b/,
    weight: 0.6,
    explanation: 'a parameter for credentials, personal data or details about the model',
  },
];

export function parameterFindings(inputSchema: unknown): Finding[] {
  const findings: Finding[] = [];
  for (const parameter of schemaParameters(inputSchema)) {
    const words = identifierWords(parameter.name);
    for (const rule of CONTEXT_NAMES) {
      if (!rule.pattern.test(words)) continue;
      findings.push({
        rule: 'context-parameter-name',
        flag: 'context-parameter',
        weight: rule.weight,
        where: parameter.where,
        excerpt: excerptOf(parameter.name),
        explanation: rule.explanation,
      });
      break;
    }
  }
  return findings;
}
