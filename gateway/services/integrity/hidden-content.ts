/**
 * Text a reader of a tool definition does not see but the model does: invisible, bidirectional, tag and
 * terminal control characters, and instructions carried as base64, hex or percent-encoded text. Encoded
 * text that decodes to readable words is returned so the text rules can judge what it says.
 */
import { excerptOf, type Finding } from './findings.js';

/** Zero-width, bidi, word-joiner, BOM, soft hyphen, Mongolian vowel separator, variation selectors supplement. */
const INVISIBLE =
  // eslint-disable-next-line no-misleading-character-class -- each invisible character is listed on purpose
  /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\u3164\uFEFF\uFFA0\u{E0100}-\u{E01EF}]/u;
/** Unicode tag characters (U+E0000-U+E007F) spell ASCII invisibly ("ASCII smuggling"). */
const TAGS = /[\u{E0000}-\u{E007F}]+/gu;
// eslint-disable-next-line no-control-regex -- control characters (terminal escapes among them) are the target
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
/** Emoji joined with ZWJ (and emoji presentation selectors) are legitimate uses of otherwise invisible characters. */
const EMOJI_SEQUENCE = /\p{Extended_Pictographic}\uFE0F?(?:\u200D\p{Extended_Pictographic}\uFE0F?)+/gu;

export function hiddenCharacterFindings(where: string, text: string): Finding[] {
  const findings: Finding[] = [];
  const tags = text.match(TAGS);
  if (tags !== null) {
    const spelled = tags
      .join(' ')
      .replace(/[\u{E0000}-\u{E007F}]/gu, (c) => String.fromCharCode(c.codePointAt(0)! - 0xe0000));
    findings.push({
      rule: 'tag-characters',
      flag: 'hidden-characters',
      weight: 1,
      where,
      excerpt: excerptOf(spelled),
      explanation: 'invisible Unicode tag characters spell out text the model reads and the user does not see',
    });
  }
  const withoutEmoji = text.replace(EMOJI_SEQUENCE, '');
  const invisible = INVISIBLE.exec(withoutEmoji);
  if (invisible !== null) {
    findings.push({
      rule: 'invisible-characters',
      flag: 'hidden-characters',
      weight: 1,
      where,
      excerpt: excerptOf(withoutEmoji.slice(Math.max(0, invisible.index - 30), invisible.index + 60)),
      explanation: 'zero-width or bidirectional control characters hide or reorder text',
    });
  }
  const control = CONTROL.exec(text);
  if (control !== null) {
    findings.push({
      rule: 'control-characters',
      flag: 'hidden-characters',
      weight: 1,
      where,
      excerpt: excerptOf(text.slice(Math.max(0, control.index - 30), control.index + 60)),
      explanation:
        control[0] === '\u001b'
          ? 'terminal escape sequences can hide or overwrite text when the definition is displayed'
          : 'control characters have no place in a tool definition',
    });
  }
  return findings;
}

/** Text that decodes to readable words: mostly printable ASCII with spaces between words. */
function readable(decoded: string): boolean {
  if (decoded.length < 12 || !/[a-z]{2,}\s+[a-z]{2,}/i.test(decoded)) return false;
  const printable = decoded.replace(/[^\x20-\x7E\n\t]/g, '').length;
  return printable / decoded.length >= 0.95;
}

export interface DecodedText {
  findings: Finding[];
  /** Readable text recovered from encodings, to be checked by the text rules too. */
  decoded: string[];
}

export function encodedContentFindings(where: string, text: string): DecodedText {
  const findings: Finding[] = [];
  const decoded: string[] = [];
  const record = (rule: string, kind: string, plain: string): void => {
    findings.push({
      rule,
      flag: 'encoded-content',
      weight: 1,
      where,
      excerpt: excerptOf(plain),
      explanation: `${kind} text hidden in the definition decodes to readable instructions`,
    });
    decoded.push(plain);
  };
  for (const match of text.matchAll(/[A-Za-z0-9+/]{24,}={0,2}/g)) {
    const raw = match[0];
    if (!/[0-9+/=]/.test(raw) || !/[a-z]/.test(raw) || !/[A-Z]/.test(raw)) continue;
    const plain = Buffer.from(raw, 'base64').toString('latin1');
    if (readable(plain)) record('base64-text', 'base64', plain);
    else if (raw.length >= 64)
      findings.push({
        rule: 'opaque-blob',
        flag: 'encoded-content',
        weight: 0.4,
        where,
        excerpt: excerptOf(raw),
        explanation: 'a long encoded blob that a description has no reason to carry',
      });
  }
  for (const match of text.matchAll(/\b(?:[0-9a-fA-F]{2}){12,}\b/g)) {
    const plain = Buffer.from(match[0], 'hex').toString('latin1');
    if (readable(plain)) record('hex-text', 'hex-encoded', plain);
  }
  for (const match of text.matchAll(/(?:%[0-9a-fA-F]{2}){6,}/g)) {
    let plain: string;
    try {
      plain = decodeURIComponent(match[0]);
    } catch {
      continue;
    }
    if (readable(plain)) record('percent-encoded-text', 'percent-encoded', plain);
  }
  return { findings, decoded };
}
