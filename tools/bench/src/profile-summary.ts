import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { measure } from './common.ts';

/*
 * npm exec -- node tools/bench/src/profile-summary.ts <file.cpuprofile> [--top 40]
 *
 * What a CPU profile (node --cpu-prof, e.g. from `npm run bench:e2e -- --cpu-prof DIR`) spent its
 * busy time on: self time by package (node_modules/<name>, the repository's own folders, node's
 * internals), then the functions with the most self time and the most total time. Idle and
 * garbage collection are reported apart.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '40' },
    /** Also: which code outside node's internals the samples of this function (self time) come from. */
    callers: { type: 'string', multiple: true, default: [] },
  },
});
const top = Number(args.top);

function packageOf(url: string): string {
  if (url === '') return '(native)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node';
  const repo = url.match(/\/(services|libs|tools)\/([^/]+)\//);
  return repo ? `${repo[1]}/${repo[2]}` : url;
}

/** A share of profile time (not money) with one decimal. */
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1, useGrouping: false });

const rows = (map: Map<string, number>, busy: number, count: number) =>
  [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(
      ([name, us]) =>
        `${oneDecimal.format((100 * us) / busy).padStart(5)}%  ${measure(us / 1_000, 0)
          .toString()
          .padStart(7)} ms  ${name}`,
    )
    .join('\n');

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  const label = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url ? `${path.basename(n.callFrame.url)}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
  let idle = 0;
  let gc = 0;
  let busy = 0;
  const byPackage = new Map<string, number>();
  const selfByFunction = new Map<string, number>();
  const callers = new Map<string, Map<string, number>>(args.callers.map((name) => [name, new Map<string, number>()]));
  const totalByFunction = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    if (name === '(idle)') {
      idle += us;
      continue;
    }
    if (name === '(garbage collector)') gc += us;
    busy += us;
    const pkg = packageOf(node.callFrame.url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
    selfByFunction.set(`${label(node)} [${pkg}]`, (selfByFunction.get(`${label(node)} [${pkg}]`) ?? 0) + us);
    const callersOf = callers.get(name);
    if (callersOf) {
      // The first two frames of the stack that are neither node's internals nor native.
      const frames: string[] = [];
      for (let at = parent.get(id); at !== undefined && frames.length < 2; at = parent.get(at)) {
        const frame = byId.get(at)!;
        const pkg = packageOf(frame.callFrame.url);
        if (pkg !== 'node' && pkg !== '(native)') frames.push(`${label(frame)} [${pkg}]`);
      }
      const key = frames.join(' < ') || '(node only)';
      callersOf.set(key, (callersOf.get(key) ?? 0) + us);
    }
    // Total time: each distinct frame on the stack once.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!;
      const key = `${label(frame)} [${packageOf(frame.callFrame.url)}]`;
      if (seen.has(key)) continue;
      seen.add(key);
      totalByFunction.set(key, (totalByFunction.get(key) ?? 0) + us);
    }
  }
  process.stdout.write(
    `# ${file}\nbusy ${measure(busy / 1e6, 2)} s, idle ${measure(idle / 1e6, 2)} s, garbage collection ${measure((100 * gc) / busy, 1)}% of busy\n\n` +
      `## self time by package\n${rows(byPackage, busy, top)}\n\n## self time by function\n${rows(selfByFunction, busy, top)}\n\n` +
      `## total time by function\n${rows(totalByFunction, busy, top)}\n\n` +
      [...callers].map(([name, map]) => `## callers of ${name}\n${rows(map, busy, top)}\n\n`).join(''),
  );
}
