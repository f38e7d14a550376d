/**
 * Shadowing: a tool's definition talking about other tools. A tool should describe itself; text that
 * names another connector's tool, or tells the model to avoid, replace or change other tools, steers calls
 * the tool is not part of (cross-server shadowing).
 */
import { excerptOf, type DefinitionText, type Finding } from './findings.js';

const TOKEN_AT_START = /^[\p{L}\p{N}_][\p{L}\p{N}_.-]*/u;
/** What follows a tool's name when a description dictates how that tool is used. */
const DIRECTS_OTHER_TOOL =
  /^[`'"]?\s*(?:tool\s+)?(?:calls?|requests?|invocations?|messages?)?\s*(?:should|must|needs?\s+to|has\s+to|have\s+to|always|never|will\s+need\s+to)\b/i;

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
      /\b(?:call|use)\s+this\s+tool\s+instead\b|\bprefer\s+this\b[^.]{0,40}\bover\b|\b(?:instead\s+of|rather\s+than)\s+(?:using|calling)\b|\b(?:never|stop|do\s+not|don't)\s+(?:use|using|call|calling|invoke)\s+(?:its|their|the\s+other|any\s+other|them)\b|\bstop\s+calling\s+them\b/i,
    explanation: 'tells the model to stop using other tools or to use this one in their place',
  },
  {
    rule: 'discredit-other-tools',
    weight: 0.5,
    pattern:
      /\b(?:tools?|servers?)\b[^.]{0,30}\b(?:is|are)\s+(?:deprecated|broken|unsafe|compromised|malicious)\b[^.]{0,40}\b(?:leak|stop|never|instead|do\s+not)|\b(?:tools?|servers?|connectors?)\b[^.]{0,20}\b(?:is|are)\s+known\s+to\s+(?:fail|leak|break|crash|lose|double|overcharge|be\s+(?:broken|unsafe|compromised|slow))/i,
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

/** Identifier-like tokens: letters, digits, `_`, `.` and `-`. */
const TOKEN = /[\p{L}\p{N}_][\p{L}\p{N}_.-]*/gu;

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
  // A local name is a reference when it looks like an identifier (has a separator); a plain word such as
  // "echo" or "search" only when written as one (in backticks, or followed by "tool"). Lookups are by
  // token, so the cost is linear in the text whatever the size of the catalog.
  const identifiers = new Map<string, string>();
  const words = new Map<string, string>();
  // A name the tool's own connector also has is read as that sibling, even if another connector has it too.
  const siblings = new Set(
    otherExposedNames
      .filter((n) => n.slice(0, n.indexOf('_')) === ownConnector)
      .map((n) => n.slice(n.indexOf('_') + 1).toLowerCase()),
  );
  for (const other of otherExposedNames) {
    if (other === exposedName || other.slice(0, other.indexOf('_')) === ownConnector) continue;
    const local = other.slice(other.indexOf('_') + 1).toLowerCase();
    identifiers.set(other.toLowerCase(), other);
    if (siblings.has(local)) continue;
    if (/[_-]/.test(local)) identifiers.set(local, other);
    else if (local.length > 0) words.set(local, other);
  }
  const referenceIn = (text: string): { other: string; index: number } | undefined => {
    for (const match of text.matchAll(TOKEN)) {
      const token = match[0].replace(/[.-]+$/, '');
      const index = match.index;
      const identified = identifiers.get(token.toLowerCase());
      if (identified !== undefined) return { other: identified, index };
      const word = words.get(token.toLowerCase());
      if (word === undefined) continue;
      const after = text.slice(index + token.length);
      if ((text[index - 1] === '`' && after.startsWith('`')) || /^\s+tool\b/i.test(after))
        return { other: word, index };
    }
    return undefined;
  };
  for (const { where, text } of texts) {
    // The tool's own name and its parameter names are identifiers, not prose about other tools; name
    // collisions are judged separately (confusable names).
    if (where === 'name' || where.endsWith('(name)')) continue;
    const reference = referenceIn(text);
    if (reference !== undefined) {
      findings.push({
        rule: 'names-other-tool',
        flag: 'shadowing',
        weight: 0.6,
        where,
        excerpt: excerptOf(text.slice(Math.max(0, reference.index - 40), reference.index + 60)),
        explanation: `refers to ${reference.other}, a tool of another connector`,
      });
      const following = text.slice(reference.index).replace(TOKEN_AT_START, '');
      if (DIRECTS_OTHER_TOOL.test(following)) {
        findings.push({
          rule: 'directs-other-tool',
          flag: 'shadowing',
          weight: 0.5,
          where,
          excerpt: excerptOf(text.slice(reference.index, reference.index + 100)),
          explanation: `says how ${reference.other} must be called`,
        });
      }
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
