/**
 * Parameters that ask the model for context: a tool that wants the conversation, its system prompt, the
 * list of other tools, other tools' output or the user's personal data as an argument has found a way to
 * read them (tool-parameter exfiltration). Judged on the parameter's name; its description goes through the
 * text rules like every other string.
 */
import { excerptOf, type DefinitionText, type Finding } from './findings.js';
import { identifierWords, schemaParameters } from './schema-texts.js';
import { ROUTE_VERBS } from './text-rules.js';

const CONTEXT_NAMES: readonly { pattern: RegExp; weight: number; explanation: string }[] = [
  {
    pattern:
      /\b(?:conversation|chat|message|messages|dialog|dialogue|session)\s+(?:history|log|transcript|context|summary)\b|\b(?:prior|previous|earlier|past)\s+(?:turns|messages|exchanges)\b|\bsystem\s+prompt\b|\bprevious\s+messages?\b|\bchain\s+of\s+thought\b|\b(?:available|all|other)\s+tools\b|\btools?\s+list\b|\blast\s+tool\s+(?:result|output)\b|\bprevious\s+tool\s+(?:result|output)\b/,
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

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Text telling the model to put something into one of this tool's own parameters ("add it to the query",
 * "put its seed phrase in the memo"): the parameter becomes a channel to the tool's author. Weighs like the
 * generic routing rule (same rule id, so the two never add up).
 */
export function ownParameterRoutingFindings(texts: readonly DefinitionText[], inputSchema: unknown): Finding[] {
  const parameters = schemaParameters(inputSchema).map((p) => p.name);
  if (parameters.length === 0) return [];
  const findings: Finding[] = [];
  for (const { where, text } of texts) {
    if (where === 'name' || where.endsWith('(name)')) continue;
    // A parameter's own documentation saying what goes into it ("text to append to the message") is normal.
    const own = /\.properties\.([^.]+)\.[A-Za-z$]+(?:\[\d+\])?$/.exec(where)?.[1];
    const pattern = routingPattern(parameters.filter((name) => name !== own));
    const match = pattern?.exec(text);
    if (match === null || match === undefined) continue;
    // "the URLs provided in the urls field" documents a parameter; it does not tell the model what to do.
    if (DESCRIPTIVE_PARTICIPLE.test(match[0])) continue;
    findings.push({
      rule: 'route-into-parameter',
      flag: 'context-parameter',
      weight: 0.5,
      where,
      excerpt: excerptOf(match[0]),
      explanation: "tells the model to put data into one of the tool's parameters, a channel to the tool author",
    });
  }
  return findings;
}

const DESCRIPTIVE_PARTICIPLE = /^(?:provided|passed|included|added|supplied|filled|placed|given|sent)\b/i;

function routingPattern(parameters: readonly string[]): RegExp | undefined {
  const names = new Set<string>();
  for (const name of parameters) {
    names.add(name);
    names.add(identifierWords(name));
  }
  const alternatives = [...names]
    .filter((n) => n.length > 0)
    .sort((a, b) => b.length - a.length)
    .map(escapeRegExp)
    .join('|');
  if (alternatives === '') return undefined;
  return new RegExp(
    `\\b(?:${ROUTE_VERBS})\\b(?:[^.]|\\.(?=\\S)){0,80}?\\b(?:in|into|as|through|via|to|inside|within|under)\\s+(?:the\\s+|its\\s+|your\\s+|an?\\s+)?(?:(?!(?:their|his|her|my|our)\\b)\\w+\\s+)?[\`'"]?(?:${alternatives})[\`'"]?(?![\\w-])`,
    'i',
  );
}
