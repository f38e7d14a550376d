// A node:test reporter that writes one JSON line per skipped or todo test (file, name, reason) to its
// destination. scripts/run-tests.js reads that file to fail a CI run that skipped a test not allowed to skip.
export default async function* skipReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { skip, todo, name, file } = event.data;
    if (skip === undefined && todo === undefined) continue;
    if (skip === false && todo === false) continue;
    const kind = skip !== undefined && skip !== false ? 'skip' : 'todo';
    const reason = kind === 'skip' ? skip : todo;
    yield `${JSON.stringify({ kind, file: file ?? '', name, reason: typeof reason === 'string' ? reason : '' })}\n`;
  }
}
