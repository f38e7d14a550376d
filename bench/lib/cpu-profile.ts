/**
 * Summarize a V8 `.cpuprofile` (what `node --cpu-prof` writes): self time per function, aggregated over
 * every node of the call tree that names the same function (name, file, line), heaviest first; and self
 * time per owner (the gateway's own code, each package, Node, V8), which says whose code to look at.
 *
 * Self time comes from the samples: each sample names the node that was on top of the stack, and
 * `timeDeltas[i]` is the time since the previous sample, so the time of sample i is charged to its node.
 * Asked for by function name, it also gives the time of every sample with that function anywhere on the
 * stack (the function and what it calls), which is what a change to one function is judged by.
 */

/** The parts of the `.cpuprofile` format this reads. */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
    /** The ids of the nodes this one called. */
    children?: number[];
  }[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileFrame {
  /** `name (file:line)`, with the file shortened to what follows the last `node_modules/` or the root. */
  frame: string;
  selfMs: number;
  /** Share of all sampled time, 0..1. */
  share: number;
  /** Self time per call, in microseconds, when the summary was given the calls made in its windows. */
  microsPerCall?: number;
}

/** The time of the samples with a function on the stack: its own time and that of what it called. */
export interface ProfileInclusive {
  /** The function's name, as asked for (every function of that name, in any file). */
  functionName: string;
  totalMs: number;
  /** Share of all sampled time, 0..1. */
  share: number;
  /** As for frames. */
  microsPerCall?: number;
}

/** Self time of everything one owner's code did: the gateway's own, a package's, Node's or V8's. */
export interface ProfileOwner {
  /**
   * `portcullis` (files outside `node_modules`), a package name (`zod`, `@opentelemetry/sdk-trace`),
   * `node` (Node's own JavaScript), `(native)` (built-ins and system calls without a script), or one of
   * V8's pseudo-frames such as `(garbage collector)`, `(program)` and `(idle)`.
   */
  owner: string;
  selfMs: number;
  /** Share of all sampled time, 0..1. */
  share: number;
  /** As for frames. */
  microsPerCall?: number;
}

export interface ProfileSummary {
  totalMs: number;
  frames: ProfileFrame[];
  /** Every owner, heaviest first. */
  owners: ProfileOwner[];
  /** For each function asked for by name, in the order asked: its time with what it called. */
  inclusive?: ProfileInclusive[];
  /** The calls made in the summary's windows, when given: the per-call figures divide by them. */
  calls?: number;
  /**
   * Sampled time that was not `(idle)`, per call. V8 samples the main thread by the wall clock, so this also
   * counts time the thread spent blocked in a system call (a synced write, a contended lock) or waiting for
   * a core; `mainCpuMicrosPerCall` is the CPU it used.
   */
  busyMicrosPerCall?: number;
  /** The main thread's CPU time per call over the same phases (from /proc), when the bench measured it. */
  mainCpuMicrosPerCall?: number;
}

/**
 * The main thread's CPU time per call over several measurements, each with its calls and its main-thread CPU
 * per call: the calls-weighted mean, or undefined when any measurement lacks the figure.
 */
export function mainCpuPerCall(measured: readonly { calls: number; mainMicrosPerCall?: number }[]): number | undefined {
  let micros = 0;
  let calls = 0;
  for (const m of measured) {
    if (m.mainMicrosPerCall === undefined) return undefined;
    micros += m.mainMicrosPerCall * m.calls;
    calls += m.calls;
  }
  return calls > 0 ? Math.round((micros / calls) * 10) / 10 : undefined;
}

/** A script URL as a file path (`node:` URLs as they are). */
function fileOf(url: string): string {
  return url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
}

/** What follows the last `node_modules/` of a path (`zod/v4/core/parse.js`), or undefined outside one. */
function inPackage(file: string): string | undefined {
  const nm = file.lastIndexOf('node_modules/');
  return nm === -1 ? undefined : file.slice(nm + 'node_modules/'.length);
}

/** Shorten a script URL: dependency files from their package, project files from the root. */
export function shortLocation(url: string, root: string): string {
  if (url === '') return '';
  const file = fileOf(url);
  const packaged = inPackage(file);
  if (packaged !== undefined) return packaged;
  return root !== '' && file.startsWith(`${root}/`) ? file.slice(root.length + 1) : file;
}

export function frameLabel(callFrame: CpuProfile['nodes'][number]['callFrame'], root: string): string {
  const name = callFrame.functionName === '' ? '(anonymous)' : callFrame.functionName;
  const where = shortLocation(callFrame.url, root);
  // lineNumber is 0-based in the format; editors count from 1.
  return where === '' ? name : `${name} (${where}:${callFrame.lineNumber + 1})`;
}

/** Whose code a frame is (see `ProfileOwner`). */
export function frameOwner(callFrame: CpuProfile['nodes'][number]['callFrame']): string {
  const { url, functionName } = callFrame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node';
  const packaged = inPackage(fileOf(url));
  if (packaged === undefined) return 'portcullis';
  const [first = '', second = ''] = packaged.split('/');
  return first.startsWith('@') ? `${first}/${second}` : first;
}

/** Function names from a comma-separated list (`--profile-functions`, `--functions`): trimmed, once each. */
export function functionNamesOf(list: string): string[] {
  return [
    ...new Set(
      list
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== ''),
    ),
  ];
}

/** A span of the monotonic clock (microseconds, as `process.hrtime` and V8's profiler count it). */
export interface TimeWindow {
  startUs: number;
  endUs: number;
}

/**
 * `windows`: count only samples taken inside them (the measured phases), leaving out start-up, warm-up and
 * idle time. The profile's timestamps and `process.hrtime` read the same monotonic clock on Linux.
 * `calls`: the calls completed in those windows, to give every figure per call as well (what two runs with
 * different numbers of calls can be compared by). `inclusive`: function names whose time with what they
 * call is wanted; a sample counts once for a name however often the name recurs on its stack.
 */
export function summarizeProfile(
  profile: CpuProfile,
  options: {
    top?: number;
    root?: string;
    windows?: readonly TimeWindow[];
    calls?: number;
    inclusive?: readonly string[];
  } = {},
): ProfileSummary {
  const root = options.root ?? '';
  const labelOf = new Map<number, string>();
  const ownerOf = new Map<number, string>();
  for (const node of profile.nodes) {
    labelOf.set(node.id, frameLabel(node.callFrame, root));
    ownerOf.set(node.id, frameOwner(node.callFrame));
  }
  // Each name once: a repeated name would otherwise get a second row that nothing counts into.
  const inclusiveNames = [...new Set(options.inclusive ?? [])];
  const stackHas = namesOnStacks(profile, inclusiveNames);
  const inclusiveUs = inclusiveNames.map(() => 0);
  const selfUs = new Map<string, number>();
  const ownerUs = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let totalUs = 0;
  let at = profile.startTime;
  const windows = options.windows;
  for (let i = 0; i < samples.length; i++) {
    const delta = Math.max(0, deltas[i] ?? 0);
    at += deltas[i] ?? 0;
    if (windows !== undefined && !windows.some((w) => at >= w.startUs && at <= w.endUs)) continue;
    const label = labelOf.get(samples[i]!) ?? '(unknown)';
    selfUs.set(label, (selfUs.get(label) ?? 0) + delta);
    const owner = ownerOf.get(samples[i]!) ?? '(unknown)';
    ownerUs.set(owner, (ownerUs.get(owner) ?? 0) + delta);
    const names = stackHas.get(samples[i]!);
    if (names !== undefined) for (const k of names) inclusiveUs[k]! += delta;
    totalUs += delta;
  }
  const calls = options.calls !== undefined && options.calls > 0 ? options.calls : undefined;
  const ms = (us: number): number => Math.round(us / 100) / 10;
  const share = (us: number): number => (totalUs > 0 ? Math.round((us / totalUs) * 1000) / 1000 : 0);
  const micros = (us: number, per: number): number => Math.round((us / per) * 10) / 10;
  const perCall = (us: number): { microsPerCall?: number } =>
    calls !== undefined ? { microsPerCall: micros(us, calls) } : {};
  const heaviest = (times: Map<string, number>): [string, number][] => [...times.entries()].sort((a, b) => b[1] - a[1]);
  const frames = heaviest(selfUs)
    .slice(0, options.top ?? 25)
    .map(([frame, us]) => ({ frame, selfMs: ms(us), share: share(us), ...perCall(us) }));
  const owners = heaviest(ownerUs).map(([owner, us]) => ({ owner, selfMs: ms(us), share: share(us), ...perCall(us) }));
  const busyUs = totalUs - (ownerUs.get('(idle)') ?? 0);
  const inclusive = inclusiveNames.map((functionName, k) => ({
    functionName,
    totalMs: ms(inclusiveUs[k]!),
    share: share(inclusiveUs[k]!),
    ...perCall(inclusiveUs[k]!),
  }));
  return {
    totalMs: ms(totalUs),
    frames,
    owners,
    ...(inclusive.length > 0 ? { inclusive } : {}),
    ...(calls !== undefined ? { calls, busyMicrosPerCall: micros(busyUs, calls) } : {}),
  };
}

/**
 * For each node of the call tree, which of `names` (by index) name a function on its stack: the node itself
 * or one of its callers. Nodes whose stack has none are left out.
 */
function namesOnStacks(profile: CpuProfile, names: readonly string[]): Map<number, readonly number[]> {
  const found = new Map<number, readonly number[]>();
  if (names.length === 0) return found;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const called = new Set(profile.nodes.flatMap((node) => node.children ?? []));
  // Walk down from the roots, each node inheriting what its callers had (the tree has no cycles).
  const pending: { id: number; above: readonly number[] }[] = profile.nodes
    .filter((node) => !called.has(node.id))
    .map((node) => ({ id: node.id, above: [] }));
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const node = byId.get(next.id);
    if (node === undefined) continue;
    const own = names.indexOf(node.callFrame.functionName);
    const here = own === -1 || next.above.includes(own) ? next.above : [...next.above, own];
    if (here.length > 0) found.set(node.id, here);
    for (const child of node.children ?? []) pending.push({ id: child, above: here });
  }
  return found;
}

export function formatProfile(summary: ProfileSummary, title = 'CPU profile'): string {
  const busy = summary.busyMicrosPerCall;
  const perCall = busy !== undefined;
  const cpu = summary.mainCpuMicrosPerCall;
  const lines = [
    busy !== undefined
      ? `${title}: ${summary.totalMs.toFixed(1)} ms sampled, ${busy.toFixed(1)} µs busy a call over ${summary.calls} calls; top frames by self time`
      : `${title}: ${summary.totalMs.toFixed(1)} ms sampled; top frames by self time`,
  ];
  if (busy !== undefined && cpu !== undefined) {
    // The two are measured apart (samples and /proc ticks): only a positive difference is a wait to report.
    const waited = busy - cpu;
    lines.push(
      waited > 0
        ? `  main thread CPU ${cpu.toFixed(1)} µs a call (/proc): the other ${waited.toFixed(1)} µs of busy time it was blocked in system calls or waiting for a core`
        : `  main thread CPU ${cpu.toFixed(1)} µs a call (/proc)`,
    );
  }
  const row = (entry: { selfMs: number; share: number; microsPerCall?: number }, what: string): string =>
    `${entry.selfMs.toFixed(1).padStart(8)}  ${perCall ? `${(entry.microsPerCall ?? 0).toFixed(1).padStart(7)}  ` : ''}${(entry.share * 100).toFixed(1).padStart(5)}%  ${what}`;
  const header = (what: string): string => `  self ms  ${perCall ? 'µs/call  ' : ''} share  ${what}`;
  lines.push(header('frame'));
  for (const f of summary.frames) lines.push(row(f, f.frame));
  if (summary.owners.length > 0) {
    lines.push(header('owner'));
    for (const o of summary.owners.slice(0, 12)) lines.push(row(o, o.owner));
  }
  if (summary.inclusive !== undefined) {
    lines.push(`  incl ms  ${perCall ? 'µs/call  ' : ''} share  function, with what it calls`);
    for (const f of summary.inclusive) lines.push(row({ ...f, selfMs: f.totalMs }, f.functionName));
  }
  return lines.join('\n');
}

/** One frame's or owner's self time in two summaries (see `compareSummaries`), in the comparison's unit. */
export interface ProfileChange {
  /** A frame's label (as `ProfileFrame.frame`) or an owner (as `ProfileOwner.owner`). */
  what: string;
  before: number;
  after: number;
  /** after - before: negative when the second spent less time there. */
  change: number;
}

export interface ProfileComparison {
  /**
   * `µs/call` when both summaries were given their calls (two cells of a run: the same work, counted per
   * call); `ms` otherwise (two whole profiles, compared as they are).
   */
  unit: 'ms' | 'µs/call';
  /** Sampled time that was not `(idle)` in each, in the unit. */
  beforeBusy: number;
  afterBusy: number;
  /** The frames whose self time changed most either way, largest change first. */
  frames: ProfileChange[];
  /** Every owner, largest change first. */
  owners: ProfileChange[];
}

/**
 * Where two summaries of the same work differ: the self time of every frame and owner in each, ranked by how
 * much it changed (either way). Per call when both summaries have their calls, so that two cells of a run,
 * or a target and its baseline in one, compare however many calls each made; else in milliseconds of
 * samples. The summaries should hold every frame (`summarizeProfile` with `top: Infinity`): a frame left out
 * of one counts as no time there. Frames match by label, so a function whose line moved between two builds
 * shows as two rows.
 */
export function compareSummaries(
  before: ProfileSummary,
  after: ProfileSummary,
  options: { top?: number } = {},
): ProfileComparison {
  const perCall = before.calls !== undefined && after.calls !== undefined;
  const amount = (entry: { selfMs: number; microsPerCall?: number }): number =>
    perCall ? (entry.microsPerCall ?? 0) : entry.selfMs;
  const changes = (
    beforeTimes: ReadonlyMap<string, number>,
    afterTimes: ReadonlyMap<string, number>,
  ): ProfileChange[] =>
    [...new Set([...beforeTimes.keys(), ...afterTimes.keys()])]
      .map((what) => {
        const was = beforeTimes.get(what) ?? 0;
        const is = afterTimes.get(what) ?? 0;
        return { what, before: was, after: is, change: Math.round((is - was) * 10) / 10 };
      })
      .sort((x, y) => Math.abs(y.change) - Math.abs(x.change) || x.what.localeCompare(y.what));
  const framesOf = (s: ProfileSummary) => new Map(s.frames.map((f) => [f.frame, amount(f)]));
  const ownersOf = (s: ProfileSummary) => new Map(s.owners.map((o) => [o.owner, amount(o)]));
  const busy = (s: ProfileSummary): number => {
    if (perCall) return s.busyMicrosPerCall ?? 0;
    const idle = s.owners.find((o) => o.owner === '(idle)')?.selfMs ?? 0;
    return Math.round((s.totalMs - idle) * 10) / 10;
  };
  return {
    unit: perCall ? 'µs/call' : 'ms',
    beforeBusy: busy(before),
    afterBusy: busy(after),
    frames: changes(framesOf(before), framesOf(after)).slice(0, options.top ?? 25),
    owners: changes(ownersOf(before), ownersOf(after)),
  };
}

/**
 * `compareSummaries` of two whole profiles (`bench/profile-summary.ts --compare`), in milliseconds. `root` is
 * the checkout the second profile's process ran from, `beforeRoot` the first's when it was another (default
 * `root`): each file is labelled from its own checkout, so the same function matches across two builds.
 */
export function compareProfiles(
  before: CpuProfile,
  after: CpuProfile,
  options: { top?: number; root?: string; beforeRoot?: string } = {},
): ProfileComparison {
  const root = options.root ?? '';
  const all = Number.POSITIVE_INFINITY;
  return compareSummaries(
    summarizeProfile(before, { top: all, root: options.beforeRoot ?? root }),
    summarizeProfile(after, { top: all, root }),
    options,
  );
}

export function formatComparison(comparison: ProfileComparison, beforeTitle: string, afterTitle: string): string {
  const unit = comparison.unit;
  const signed = (value: number): string => `${value > 0 ? '+' : ''}${value.toFixed(1)}`;
  const row = (c: ProfileChange): string =>
    `${c.before.toFixed(1).padStart(9)}  ${c.after.toFixed(1).padStart(9)}  ${signed(c.change).padStart(9)}  ${c.what}`;
  const header = (what: string): string =>
    `${'before'.padStart(9)}  ${'after'.padStart(9)}  ${'change'.padStart(9)}  ${what}`;
  return [
    `before: ${beforeTitle}, ${comparison.beforeBusy.toFixed(1)} ${unit} busy`,
    `after:  ${afterTitle}, ${comparison.afterBusy.toFixed(1)} ${unit} busy`,
    `self time (${unit}) by frame, largest change first`,
    header('frame'),
    ...comparison.frames.map(row),
    header('owner'),
    ...comparison.owners.slice(0, 12).map(row),
  ].join('\n');
}
