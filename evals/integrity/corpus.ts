/**
 * The tool-integrity corpus (see README.md beside this file): load a half, run the definition analysis over
 * every sample in its catalog context, and score "flagged" against the `poisoned` label.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  analyzeDefinition,
  type DefinitionAnalysis,
  type PinnedDefinition,
} from '../../gateway/services/integrity/index.js';

const DefinitionSchema = z
  .object({
    name: z.string().min(1),
    title: z.string().optional(),
    description: z.string().optional(),
    inputSchema: z.record(z.string(), z.unknown()),
    annotations: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

const SampleSchema = z
  .object({
    id: z.string().regex(/^[pb]-[\w.-]+$/),
    label: z.enum(['poisoned', 'benign']),
    class: z.enum(['tool-poisoning', 'shadowing', 'rug-pull', 'line-jumping', 'parameter-exfiltration', 'reference']),
    source: z.string().min(10),
    connector: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
    otherTools: z.array(z.string()).optional(),
    previous: DefinitionSchema.optional(),
    tool: DefinitionSchema,
  })
  .strict();

const HalfSchema = z.object({ half: z.enum(['development', 'test']), samples: z.array(SampleSchema).min(1) }).strict();

export type CorpusSample = z.infer<typeof SampleSchema>;
export type CorpusHalf = 'dev' | 'test';

const root = path.dirname(fileURLToPath(import.meta.url));

export async function loadCorpusHalf(half: CorpusHalf): Promise<CorpusSample[]> {
  const file = path.join(root, 'corpus', `${half}.json`);
  return HalfSchema.parse(JSON.parse(await readFile(file, 'utf8'))).samples;
}

export interface SampleVerdict {
  sample: CorpusSample;
  analysis: DefinitionAnalysis;
  flagged: boolean;
}

export interface CorpusScore {
  half: CorpusHalf;
  samples: number;
  poisoned: number;
  benign: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  trueNegatives: number;
  precision: number;
  recall: number;
  /** Poisoned samples not flagged. */
  missed: string[];
  /** Benign samples flagged. */
  falseAlarms: string[];
  verdicts: SampleVerdict[];
}

const exposed = (s: CorpusSample): string => `${s.connector}_${s.tool.name}`;

/** The pinned parts of a definition, as `pinnedDefinition` takes them from a listed descriptor. */
function pinned(definition: z.infer<typeof DefinitionSchema>): PinnedDefinition {
  return {
    name: definition.name,
    ...(definition.title !== undefined ? { title: definition.title } : {}),
    ...(definition.description !== undefined ? { description: definition.description } : {}),
    inputSchema: definition.inputSchema,
    ...(definition.annotations !== undefined ? { annotations: definition.annotations } : {}),
  };
}

/** Judge every sample as the gateway would on first sight: against every tool of its half as the catalog. */
export function scoreCorpus(half: CorpusHalf, samples: readonly CorpusSample[]): CorpusScore {
  const catalog = samples.map(exposed);
  const verdicts = samples.map((sample) => {
    const others = [...catalog, ...(sample.otherTools ?? [])];
    const previous = sample.previous !== undefined ? pinned(sample.previous) : undefined;
    const analysis = analyzeDefinition(exposed(sample), pinned(sample.tool), others, previous);
    return { sample, analysis, flagged: analysis.flags.length > 0 };
  });
  const count = (label: 'poisoned' | 'benign', flagged: boolean): number =>
    verdicts.filter((v) => v.sample.label === label && v.flagged === flagged).length;
  const truePositives = count('poisoned', true);
  const falsePositives = count('benign', true);
  const falseNegatives = count('poisoned', false);
  const ratio = (n: number, d: number): number => (d === 0 ? 0 : Math.round((1000 * n) / d) / 1000);
  return {
    half,
    samples: samples.length,
    poisoned: truePositives + falseNegatives,
    benign: samples.length - truePositives - falseNegatives,
    truePositives,
    falsePositives,
    falseNegatives,
    trueNegatives: count('benign', false),
    precision: ratio(truePositives, truePositives + falsePositives),
    recall: ratio(truePositives, truePositives + falseNegatives),
    missed: verdicts.filter((v) => v.sample.label === 'poisoned' && !v.flagged).map((v) => v.sample.id),
    falseAlarms: verdicts.filter((v) => v.sample.label === 'benign' && v.flagged).map((v) => v.sample.id),
    verdicts,
  };
}

/** Targets on the test half. */
export const CORPUS_TARGETS = { precision: 0.9, recall: 0.9 } as const;
