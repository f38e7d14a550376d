/**
 * The names of the benchmark's targets (lib/targets.ts starts them): the peers, the gateway's configurations,
 * and each configuration's baseline target, which runs it as built in the `--baseline` checkout. Its own
 * module, without anything that starts a process, so that lib/rounds.ts can pair a configuration with its
 * baseline by the same rule.
 */

/** The gateway's configurations, each of which also runs as built in the `--baseline` checkout. */
const PORTCULLIS_VARIANTS = [
  'portcullis',
  'portcullis-noflush',
  'portcullis-noaudit',
  'portcullis-notrace',
  'portcullis-10k-rules',
  'portcullis-oauth',
  'portcullis-redis',
] as const;
export type PortcullisVariant = (typeof PORTCULLIS_VARIANTS)[number];
/** A configuration's baseline target is named after it with this suffix. */
const BASELINE_SUFFIX = '-baseline';
export type BaselineTarget = `${PortcullisVariant}${typeof BASELINE_SUFFIX}`;

export type TargetName = 'direct' | 'passthrough' | 'mcp-proxy' | PortcullisVariant | BaselineTarget;

/** The targets that run the gateway built in the `--baseline` checkout. */
const BASELINE_TARGETS: readonly TargetName[] = PORTCULLIS_VARIANTS.map(
  (variant): BaselineTarget => `${variant}${BASELINE_SUFFIX}`,
);
export const TARGET_NAMES: readonly TargetName[] = [
  'direct',
  'passthrough',
  'mcp-proxy',
  ...PORTCULLIS_VARIANTS,
  ...BASELINE_TARGETS,
];

export function isBaselineTarget(name: string): boolean {
  return (BASELINE_TARGETS as readonly string[]).includes(name);
}

/**
 * The baseline target of a gateway configuration (`portcullis` → `portcullis-baseline`), or undefined for a
 * name that is not one (a peer, or a baseline target itself).
 */
export function baselineTargetOf(name: string): BaselineTarget | undefined {
  return (PORTCULLIS_VARIANTS as readonly string[]).includes(name)
    ? (`${name}${BASELINE_SUFFIX}` as BaselineTarget)
    : undefined;
}

/** The configuration a Portcullis target runs: its own name, or, for a baseline target, the variant's. */
export function variantOf(name: PortcullisVariant | BaselineTarget): PortcullisVariant {
  return (name.endsWith(BASELINE_SUFFIX) ? name.slice(0, -BASELINE_SUFFIX.length) : name) as PortcullisVariant;
}
