import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { z } from 'zod';
import { validateValuesAsTrees } from './zod-trees.js';

/** A recursive schema, built by the caller at the moment it is called (zod reads the memoizer then). */
const buildNodeSchema = () => {
  const Node: z.ZodType<{ name: string; children?: unknown[] | undefined }> = z.object({
    name: z.string(),
    get children() {
      return z.array(Node).optional();
    },
  });
  return Node;
};

describe('validating values as trees', () => {
  after(() => z.config({ memoizer: z.memoizer() }));

  it('parses a shared node once per occurrence in schemas built afterwards, with the same result', () => {
    const leaf = { name: 'leaf', children: [] };
    const dag = { name: 'root', children: [leaf, leaf] };

    // Zod's default: one parse of a node reached twice, handed out twice (the observable used below).
    const before = buildNodeSchema().parse(dag) as { children: unknown[] };
    assert.equal(before.children[0], before.children[1]);

    validateValuesAsTrees();
    const Node = buildNodeSchema();
    const walked = Node.parse(dag) as { children: unknown[] };
    assert.notEqual(walked.children[0], walked.children[1]);
    assert.deepEqual(walked, before);
    assert.deepEqual(walked, JSON.parse(JSON.stringify(dag)));

    // Invalid input is reported as before, with its path.
    const bad = Node.safeParse({ name: 'root', children: [{ name: 7 }] });
    assert.equal(bad.success, false);
    assert.deepEqual(
      bad.error?.issues.map((issue) => issue.path),
      [['children', 0, 'name']],
    );
  });

  it('fails the parse of a value with a cycle, which no JSON text can hold', () => {
    validateValuesAsTrees();
    const cyclic: { name: string; children: unknown[] } = { name: 'loop', children: [] };
    cyclic.children.push(cyclic);
    assert.throws(() => buildNodeSchema().parse(cyclic), RangeError);
  });
});
