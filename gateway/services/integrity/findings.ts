/**
 * The vocabulary of definition analysis: what a finding is and which flag each kind of finding raises.
 *
 * A finding is one piece of evidence that a tool definition tries to steer the model rather than describe
 * the tool. Each carries a weight (how strongly it points to poisoning on its own), where it was found and an
 * explanation an operator can read. Flags are the coarse labels policy rules match (`toolFlags`).
 */

export type ToolFlag =
  /** Talks about other tools: redirects, replaces or changes how they are used. */
  | 'shadowing'
  /** The name collides with another tool's after normalisation or confusable folding. */
  | 'confusable-name'
  /** Compared with the pinned schema, the new one accepts free-form extra data. */
  | 'schema-widened'
  /** Invisible, bidirectional, tag or terminal control characters. */
  | 'hidden-characters'
  /** Instructions addressed to the model: overrides, concealment from the user, ordering demands. */
  | 'model-instructions'
  /** References to secret files, credentials, keys or tokens. */
  | 'sensitive-reference'
  /** Parameters that ask for the conversation, system prompt, other tools' output or the user's data. */
  | 'context-parameter'
  /** Base64, hex or percent-encoded text hidden in the definition. */
  | 'encoded-content'
  /** Markdown or HTML links, images or comments that can exfiltrate data when rendered. */
  | 'links';

export const TOOL_FLAGS: readonly ToolFlag[] = [
  'shadowing',
  'confusable-name',
  'schema-widened',
  'hidden-characters',
  'model-instructions',
  'sensitive-reference',
  'context-parameter',
  'encoded-content',
  'links',
];

export interface Finding {
  /** Stable id of the rule that produced it (for tuning and for operators who search docs). */
  rule: string;
  flag: ToolFlag;
  /** Evidence strength; a definition whose findings add up to the threshold is flagged. */
  weight: number;
  /** Where in the definition: `name`, `title`, `description`, or a JSON path into `inputSchema`. */
  where: string;
  /** The matched text (shortened), with invisible characters shown as code points. */
  excerpt: string;
  explanation: string;
}

/** A piece of text taken from a definition, with its location. */
export interface DefinitionText {
  where: string;
  text: string;
}

/** Shown text for an excerpt: at most 120 characters, invisible characters as `<U+XXXX>`. */
export function excerptOf(text: string): string {
  const visible = text.replace(
    // eslint-disable-next-line no-control-regex, no-misleading-character-class -- invisible characters are what must be made visible
    /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF\u{E0000}-\u{E007F}\u{FE00}-\u{FE0F}]/gu,
    (c) => `<U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}>`,
  );
  const flat = visible.replace(/\s+/g, ' ').trim();
  return flat.length > 120 ? `${flat.slice(0, 117)}...` : flat;
}
