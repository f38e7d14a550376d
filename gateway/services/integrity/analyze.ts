/**
 * Scored analysis of a tool definition. Every rule that matches adds a finding with a weight and an
 * explanation; the score is the sum over distinct rules (a rule counts once however often it matches). A
 * definition whose score reaches the threshold is flagged, and its flags are the kinds of evidence found:
 * they are what operators see and what policy matches (`toolFlags`). Under the default first-sight mode a
 * flagged new tool waits for an operator, like a changed one.
 *
 * What is looked at (see the rule modules): instructions addressed to the model (text-rules.ts), references
 * to secret files and credentials (text-rules.ts), other tools (tool-references.ts), parameters that ask
 * for context (parameter-rules.ts), hidden characters and encoded text (hidden-content.ts), links and markup
 * (text-rules.ts), names confusable with other tools, and schemas widened since the pinned definition.
 */
import unhomoglyph from 'unhomoglyph';
import { excerptOf, type Finding, type ToolFlag } from './findings.js';
import { encodedContentFindings, hiddenCharacterFindings } from './hidden-content.js';
import { ownParameterRoutingFindings, parameterFindings } from './parameter-rules.js';
import type { PinnedDefinition } from './pin.js';
import { definitionTexts } from './schema-texts.js';
import { TEXT_RULES } from './text-rules.js';
import { toolReferenceFindings } from './tool-references.js';

export type { Finding, ToolFlag } from './findings.js';

/** Score at which a definition is flagged. */
export const FLAG_THRESHOLD = 1;

/** Schema slots that hold values, not documentation. */
const VALUE_SLOT = /\.(?:default|const|enum\[\d+\]|examples\[\d+\])$/;
const PROSE_WORDS = 6;

export interface DefinitionAnalysis {
  /** Kinds of evidence found, when the score reached the threshold; empty otherwise. */
  flags: ToolFlag[];
  score: number;
  /** Every finding, including those of a definition below the threshold, for operators to read. */
  findings: Finding[];
}

export function skeleton(name: string): string {
  return unhomoglyph(name.normalize('NFKC').toLowerCase()).replace(/[_\-.\s]/g, '');
}

/**
 * Analyse one tool, given the exposed names of every tool in the catalog (for shadowing and collisions) and
 * the previously pinned definition (to detect widening), if any.
 */
export function analyzeDefinition(
  exposedName: string,
  definition: PinnedDefinition,
  otherExposedNames: readonly string[],
  pinned?: PinnedDefinition,
): DefinitionAnalysis {
  const texts = definitionTexts(definition);
  const findings: Finding[] = [];
  for (const { where, text } of texts) {
    findings.push(...hiddenCharacterFindings(where, text));
    const encoded = encodedContentFindings(where, text);
    findings.push(...encoded.findings);
    findings.push(...textRuleFindings(where, text));
    if (VALUE_SLOT.test(where) && text.trim().split(/\s+/).length >= PROSE_WORDS) {
      findings.push({
        rule: 'prose-in-value',
        flag: 'model-instructions',
        weight: 0.5,
        where,
        excerpt: excerptOf(text),
        explanation: 'a default, enum or example value that reads as a sentence: values are not the place for prose',
      });
    }
    for (const plain of encoded.decoded) findings.push(...textRuleFindings(`${where} (decoded)`, plain));
  }
  findings.push(...toolReferenceFindings(texts, exposedName, otherExposedNames));
  findings.push(...parameterFindings(definition.inputSchema));
  findings.push(...ownParameterRoutingFindings(texts, definition.inputSchema));
  for (const other of otherExposedNames) {
    if (other !== exposedName && skeleton(other) === skeleton(exposedName)) {
      findings.push({
        rule: 'confusable-name',
        flag: 'confusable-name',
        weight: 1,
        where: 'name',
        excerpt: excerptOf(exposedName),
        explanation: `looks the same as ${other} after Unicode normalisation and confusable folding`,
      });
      break;
    }
  }
  if (pinned !== undefined && widened(pinned.inputSchema, definition.inputSchema)) {
    findings.push({
      rule: 'schema-widened',
      flag: 'schema-widened',
      weight: 1,
      where: 'inputSchema',
      excerpt: '',
      explanation: 'the new schema accepts free-form data the trusted one did not',
    });
  }
  const unique = dedupe(findings);
  const strongest = new Map<string, number>();
  for (const f of unique) strongest.set(f.rule, Math.max(strongest.get(f.rule) ?? 0, f.weight));
  const score = Math.round([...strongest.values()].reduce((a, b) => a + b, 0) * 100) / 100;
  const flags = score >= FLAG_THRESHOLD ? [...new Set(unique.map((f) => f.flag))].sort() : [];
  return { flags, score, findings: unique };
}

/**
 * "Do not include API keys or passwords in the query" names credentials to keep them out: a sensitive
 * reference governed by such a prohibition earlier in the same sentence is not evidence. ("Don't forget to
 * include the key" is no prohibition.)
 */
const PROHIBITION =
  /\b(?:do\s+not|don't|never|must\s+not|should\s+not|avoid|refrain\s+from)\s+(?:ever\s+)?(?:include|including|send|sending|share|sharing|pass|passing|put|putting|add|adding|provide|providing|expose|exposing|log|logging|paste|pasting|enter|entering|store|storing|reveal|revealing)\b[^.]*$/i;

function prohibited(text: string, index: number): boolean {
  const sentenceStart = Math.max(text.lastIndexOf('.', index), text.lastIndexOf('\n', index)) + 1;
  return PROHIBITION.test(text.slice(sentenceStart, index));
}

/** A parameter's own documentation: what it asks for is what the model will put in it. */
const PARAMETER_DESCRIPTION = /\.properties\.[^.]+\.description$/;

function textRuleFindings(where: string, text: string): Finding[] {
  const findings: Finding[] = [];
  for (const rule of TEXT_RULES) {
    for (const pattern of rule.patterns) {
      const match = pattern.exec(text);
      if (match === null) continue;
      if (rule.flag === 'sensitive-reference' && prohibited(text, match.index)) continue;
      const asksForConversation = rule.id === 'conversation-content' && PARAMETER_DESCRIPTION.test(where);
      findings.push({
        rule: rule.id,
        flag: rule.flag,
        weight: asksForConversation ? 1 : rule.weight,
        where,
        excerpt: excerptOf(text.slice(Math.max(0, match.index - 20), match.index + match[0].length + 20)),
        explanation: asksForConversation
          ? 'a parameter documented as taking the conversation: whatever the model puts there leaves with the call'
          : rule.explanation,
      });
      break;
    }
  }
  return findings;
}

/** One finding per rule and place. */
function dedupe(findings: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.rule}\u0000${f.where}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** True when `after` accepts free-form data that `before` did not. */
export function widened(before: unknown, after: unknown): boolean {
  const b = asSchema(before);
  const a = asSchema(after);
  if (b.additionalProperties === false && a.additionalProperties !== false) return true;
  const beforeProps = asSchema(b.properties);
  for (const [name, schema] of Object.entries(asSchema(a.properties))) {
    if (name in beforeProps) {
      if (widened(beforeProps[name], schema)) return true;
      continue;
    }
    const s = asSchema(schema);
    const freeForm =
      s.type === undefined ||
      (s.type === 'object' && s.additionalProperties !== false) ||
      (s.type === 'string' && s.maxLength === undefined && s.enum === undefined && s.pattern === undefined);
    if (freeForm) return true;
  }
  return false;
}

function asSchema(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}
