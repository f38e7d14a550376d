// Line diff for definition review: longest common subsequence over lines, so an operator sees exactly
// which lines of a description or schema were added or removed. Inputs are capped to keep it cheap.
const MAX_LINES = 2000;

/** @returns {{ kind: 'same' | 'add' | 'remove', text: string }[]} */
export function lineDiff(before, after) {
  const a = before === '' ? [] : before.split('\n').slice(0, MAX_LINES);
  const b = after === '' ? [] : after.split('\n').slice(0, MAX_LINES);
  const lcs = Array.from({ length: a.length + 1 }, () => new Uint16Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const lines = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      lines.push({ kind: 'same', text: a[i] });
      i++;
      j++;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) lines.push({ kind: 'remove', text: a[i++] });
    else lines.push({ kind: 'add', text: b[j++] });
  }
  while (i < a.length) lines.push({ kind: 'remove', text: a[i++] });
  while (j < b.length) lines.push({ kind: 'add', text: b[j++] });
  return lines;
}
