/**
 * Every relative link in README.md, the other top-level Markdown files and docs/ points at a file or
 * folder that exists inside the repository, so a clone (or the npm package's docs/) has no dead links.
 * Links in code (fenced blocks, inline code) are examples, not links, and are skipped; so are URLs with a
 * scheme and in-page anchors.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from './fixtures/gateway-process.js';

function markdownFiles(): string[] {
  const top = readdirSync(REPO_ROOT).filter((name) => name.endsWith('.md'));
  const docs = readdirSync(path.join(REPO_ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.md'))
    .map((name) => path.join('docs', name));
  return [...top, ...docs].sort();
}

/** Link targets in Markdown text: inline links and images `[x](target)`, and definitions `[x]: target`. */
export function linkTargets(markdown: string): string[] {
  const prose = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
  const targets: string[] = [];
  for (const match of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(match[1]!);
  for (const match of prose.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) targets.push(match[1]!);
  return targets;
}

function isRelative(target: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#') && !target.startsWith('//');
}

describe('documentation links', () => {
  it('finds links the way Markdown writes them, and skips code', () => {
    const sample = [
      'See [design](docs/design.md#6-rules) and ![logo](img/logo.png "Logo").',
      '[ref]: ./CHANGELOG.md',
      '`[not](a-link.md)`',
      '```md',
      '[inside](code-block.md)',
      '```',
      '[web](https://example.com) [anchor](#top)',
    ].join('\n');
    assert.deepEqual(linkTargets(sample), [
      'docs/design.md#6-rules',
      'img/logo.png',
      'https://example.com',
      '#top',
      './CHANGELOG.md',
    ]);
  });

  it('resolves every relative link in README.md and docs/ inside the repository', () => {
    const files = markdownFiles();
    assert.ok(files.includes('README.md') && files.includes(path.join('docs', 'design.md')), files.join(', '));
    const dead: string[] = [];
    let checked = 0;
    for (const file of files) {
      const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
      for (const target of linkTargets(text).filter(isRelative)) {
        checked++;
        const pathPart = decodeURIComponent(target.split('#')[0]!.split('?')[0]!);
        if (pathPart === '') continue;
        const resolved = path.resolve(REPO_ROOT, path.dirname(file), pathPart);
        const relative = path.relative(REPO_ROOT, resolved);
        if (relative.startsWith('..') || path.isAbsolute(relative))
          dead.push(`${file}: ${target} (outside the repository)`);
        else if (!existsSync(resolved)) dead.push(`${file}: ${target} (no such file)`);
      }
    }
    assert.ok(checked > 20, `links checked: ${checked}`);
    assert.deepEqual(dead, []);
  });
});
