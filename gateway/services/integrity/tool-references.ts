/**
 * Shadowing: a tool's definition talking about other tools. A tool should describe itself; text that
 * names another connector's tool, or tells the model to avoid, replace or change other tools, steers calls
 * the tool is not part of (cross-server shadowing).
 */
import { excerptOf, type DefinitionText, type Finding } from './findings.js';

const GENERIC: readonly { rule: string; weight: number; pattern: RegExp; explanation: string }[] = [
  {
    rule: 'other-tools',
    weight: 0.5,
    pattern:
      /\b(?:all|any|every|each|the)\s+other\s+(?:tools?|servers?|connectors?|plugins?|filesystem\s+servers?)\b|\bchanges\s+how\s+(?:all\s+)?(?:other\s+)?tools\b/i,
    explanation: 'gives instructions about other tools',
  },
  {
    rule: 'replace-other-tool',
    weight: 0.5,
    pattern:
      /\b(?:call|use)\s+this\s+tool\s+instead\b|\b(?:instead\s+of|rather\s+than)\s+(?:using|calling)\b|\b(?:never|stop|do\s+not|don't)\s+(?:use|using|call|calling|invoke)\s+(?:its|their|the\s+other|any\s+other|them)\b|\bstop\s+calling\s+them\b/i,
    explanation: 'tells the model to stop using other tools or to use this one in their place',
  },
  {
    rule: 'discredit-other-tools',
    weight: 0.5,
    pattern:
      /\b(?:tools?|servers?)\b[^.]{0,30}\b(?:is|are)\s+(?:deprecated|broken|unsafe|compromised|malicious)\b[^.]{0,40}\b(?:leak|stop|never|instead|do\s+not)/i,
    explanation: 'discredits other tools to divert calls',
  },
  {
    rule: 'when-other-tool-used',
    weight: 0.4,
    pattern:
      /\b(?:when|whenever|each\s+time|every\s+time|after|before)\b[^.]{0,50}\b(?:is|are)\s+(?:used|called|invoked)\b|\bany\s+call\s+to\b|\bafter\s+any\s+tool\b/i,
    explanation: 'attaches behaviour to calls of other tools',
  },
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * `exposedName` is this tool's exposed name (`connector_tool`); `otherExposedNames` every exposed name in the
 * catalog. Names of the same connector are skipped: a tool may refer to its siblings.
 */
export function toolReferenceFindings(
  texts: readonly DefinitionText[],
  exposedName: string,
  otherExposedNames: readonly string[],
): Finding[] {
  const findings: Finding[] = [];
  const ownConnector = exposedName.slice(0, exposedName.indexOf('_'));
  const others = otherExposedNames.filter((n) => n !== exposedName && n.slice(0, n.indexOf('_')) !== ownConnector);
  // A local name is only a reference when it looks like an identifier (has a separator) or is written as
  // one (in backticks, or followed by "tool"): plain words like "echo" or "search" are just words.
  const patterns = others.map((other) => {
    const local = other.slice(other.indexOf('_') + 1);
    const exact = `(?<![\\w-])${escapeRegExp(other)}(?![\\w-])`;
    const localRef = /[_-]/.test(local)
      ? `(?<![\\w-])${escapeRegExp(local)}(?![\\w-])`
      : `\`${escapeRegExp(local)}\`|(?<![\\w-])${escapeRegExp(local)}\\s+tool\\b`;
    return { other, pattern: new RegExp(`${exact}|${localRef}`, 'i') };
  });
  for (const { where, text } of texts) {
    // The tool's own name and its parameter names are identifiers, not prose about other tools; name
    // collisions are judged separately (confusable names).
    if (where === 'name' || where.endsWith('(name)')) continue;
    for (const { other, pattern } of patterns) {
      const match = pattern.exec(text);
      if (match === null) continue;
      findings.push({
        rule: 'names-other-tool',
        flag: 'shadowing',
        weight: 0.6,
        where,
        excerpt: excerptOf(text.slice(Math.max(0, match.index - 40), match.index + 60)),
        explanation: `refers to ${other}, a tool of another connector`,
      });
      break;
    }
    for (const rule of GENERIC) {
      const match = rule.pattern.exec(text);
      if (match === null) continue;
      findings.push({
        rule: rule.rule,
        flag: 'shadowing',
        weight: rule.weight,
        where,
        excerpt: excerptOf(text.slice(Math.max(0, match.index - 20), match.index + 80)),
        explanation: rule.explanation,
      });
    }
  }
  return findings;
}
