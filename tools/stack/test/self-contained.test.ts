import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The repository stands on its own: a fresh clone with nothing beside it has everything the code,
 * the tests and the documentation refer to. No tracked file reads, imports or links a path outside
 * the repository (an absolute path of a development machine, a relative
 * path that climbs above the root, a markdown link that leaves it or names a missing file).
 * `tools/fresh-clone/run.sh` proves the same end to end by cloning and running the README.
 */
const repoRoot = path.resolve(import.meta.dirname, '../../..');

type Finding = { file: string; line: number; what: string };

const trackedFiles = (): string[] =>
  execFileSync('git', ['ls-files', '-z'], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    .split('\0')
    .filter((f) => f && existsSync(path.join(repoRoot, f)));

const textOf = (file: string): string | undefined => {
  const bytes = readFileSync(path.join(repoRoot, file));
  return bytes.includes(0) ? undefined : bytes.toString('utf8');
};

const lineOf = (text: string, index: number) => text.slice(0, index).split('\n').length;

const inside = (absolute: string) => absolute === repoRoot || absolute.startsWith(repoRoot + path.sep);

const codeFile = /\.(?:[cm]?[jt]s|tsx|jsx)$/;

/** Paths that point outside the repository, whatever the kind of file. */
function outsidePaths(file: string, text: string): Finding[] {
  const found: Finding[] = [];
  const patterns: [RegExp, string][] = [[/(?<![\w.~-])\/work\//g, 'an absolute path of the development machine']];
  for (const [pattern, what] of patterns) {
    for (const m of text.matchAll(pattern)) found.push({ file, line: lineOf(text, m.index), what: `${what}: ${m[0]}` });
  }
  return found;
}

/** Relative paths in code (imports, `new URL(…, import.meta.url)`, `resolve(import.meta.dirname, …)`) that climb above the root. */
function escapingCodePaths(file: string, text: string): Finding[] {
  const found: Finding[] = [];
  const dir = path.dirname(path.join(repoRoot, file));
  const relative: RegExp[] = [
    /new URL\(\s*['"`](\.\.?\/[^'"`]*)['"`]\s*,\s*import\.meta\.url\s*\)/g,
    /(?:resolve|join)\(\s*(?:import\.meta\.dirname|__dirname)\s*,\s*['"`](\.\.?(?:\/[^'"`]*)?)['"`]/g,
    /\bfrom\s+['"](\.\.?\/[^'"]*)['"]/g,
    /\bimport\(\s*['"](\.\.?\/[^'"]*)['"]\s*\)/g,
    /\brequire\(\s*['"](\.\.?\/[^'"]*)['"]\s*\)/g,
  ];
  for (const pattern of relative) {
    for (const m of text.matchAll(pattern)) {
      const target = path.resolve(dir, m[1]!);
      if (!inside(target)) found.push({ file, line: lineOf(text, m.index), what: `climbs above the repository: ${m[0]}` });
    }
  }
  return found;
}

/** Markdown links (inline, reference and HTML) outside code; each relative one must stay inside and name a file that exists. */
function markdownLinks(file: string, text: string): Finding[] {
  const found: Finding[] = [];
  // Blank out code (fences and spans) keeping the line structure, so that shell or jq text is not read as links.
  const prose = text
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, (block) => block.replace(/[^\n]/g, ' '))
    .replace(/`[^`\n]*`/g, (span) => ' '.repeat(span.length));
  const links = [
    /\]\(\s*<?([^)\s>]+)>?(?:\s+["'][^"']*["'])?\s*\)/g,
    /^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm,
    /\b(?:href|src)\s*=\s*["']([^"']+)["']/g,
  ];
  for (const pattern of links) {
    for (const m of prose.matchAll(pattern)) {
      const target = m[1]!;
      if (/^(?:[a-z][a-z0-9+.-]*:|#)/i.test(target) && !/^file:/i.test(target)) continue; // https:, mailto:, an anchor
      const where = { file, line: lineOf(prose, m.index) };
      if (/^file:/i.test(target)) {
        found.push({ ...where, what: `links a file of this machine: ${target}` });
        continue;
      }
      const filePart = decodeURIComponent(target.split('#')[0]!.split('?')[0]!);
      const absolute = filePart.startsWith('/')
        ? path.join(repoRoot, filePart)
        : path.resolve(path.dirname(path.join(repoRoot, file)), filePart);
      if (!inside(absolute)) found.push({ ...where, what: `links outside the repository: ${target}` });
      else if (!existsSync(absolute)) found.push({ ...where, what: `links a file that does not exist: ${target}` });
    }
  }
  return found;
}

describe('the repository is self-contained', () => {
  const files = trackedFiles();
  const texts = files.flatMap((file) => {
    const text = textOf(file);
    return text === undefined ? [] : [{ file, text }];
  });

  it('when the tracked files are listed, then there are files of every kind to check (the check reads the real tree)', () => {
    expect(texts.some((t) => t.file === 'README.md')).toBe(true);
    expect(texts.filter((t) => t.file.endsWith('.md')).length).toBeGreaterThan(3);
    expect(texts.filter((t) => codeFile.test(t.file)).length).toBeGreaterThan(100);
  });

  it('when every tracked file is read, then none names an absolute path of the development machine', () => {
    expect(texts.flatMap(({ file, text }) => outsidePaths(file, text))).toEqual([]);
  });

  it('when every import and file URL in the code is resolved, then none leaves the repository', () => {
    expect(texts.filter(({ file }) => codeFile.test(file)).flatMap(({ file, text }) => escapingCodePaths(file, text))).toEqual([]);
  });

  it('when every markdown link is resolved, then each stays inside the repository and names a file that exists', () => {
    expect(texts.filter(({ file }) => file.endsWith('.md')).flatMap(({ file, text }) => markdownLinks(file, text))).toEqual([]);
  });

  it('when a file climbs out, reads a folder beside the repository or links outside, then the checks name it (the checks can fail)', () => {
    // A folder beside the repository: reached by climbing out (code) or by a link (markdown).
    const outside = '../outside/API.md';
    const up = '../'.repeat(4);
    const code = `import x from '${up}x.ts';\nconst a = readFileSync(new URL('${up}${outside}', import.meta.url));\nconst b = path.resolve(import.meta.dirname, '${up}..');\n`;
    expect(
      escapingCodePaths('tools/stack/src/bad.ts', code)
        .map((f) => f.line)
        .sort(),
    ).toEqual([1, 2, 3]);
    expect(escapingCodePaths('tools/stack/src/good.ts', `import x from '../../../libs/kit/src/index.ts';\n`)).toEqual([]);
    expect(
      outsidePaths('x.ts', `const p = 'docs/api.md';\nconst q = '/wo` + `rk/main/README.md';\nconst r = 'network/x';\n`).map((f) => f.line),
    ).toEqual([2]);
    const md = `See [API](${outside}) and [arch](docs/nope.md) and [ok](README.md#testing).\n\n\`\`\`sh\n[ -n "$X" ](../../etc)\n\`\`\`\n[ref]: /../../outside.md\n<a href="file:///etc/passwd">x</a>\n`;
    expect(markdownLinks('README.md', md).map((f) => f.what)).toEqual([
      `links outside the repository: ${outside}`,
      'links a file that does not exist: docs/nope.md',
      'links outside the repository: /../../outside.md',
      'links a file of this machine: file:///etc/passwd',
    ]);
  });
});
