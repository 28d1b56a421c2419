import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { findChromium } from './chromium.ts';

/** Which Chromium the browser tests launch: CHROMIUM_PATH, then PATH, then the npm package's own. */
describe('the browser tests find a Chromium', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'chromium-lookup-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const file = (dir: string, name: string, mode: number) => {
    const path = join(scratch, dir, name);
    mkdirSync(join(scratch, dir), { recursive: true });
    writeFileSync(path, '#!/bin/sh\n');
    chmodSync(path, mode);
    return path;
  };

  it('when CHROMIUM_PATH is set, then it is used whatever PATH holds', async () => {
    const configured = file('configured', 'my-chromium', 0o755);
    const onPath = file('path-a', 'chromium', 0o755);
    expect(await findChromium({ CHROMIUM_PATH: configured, PATH: join(onPath, '..') })).toEqual({
      path: configured,
      from: 'CHROMIUM_PATH',
    });
  });

  it('when CHROMIUM_PATH names no executable file, then the lookup fails naming it', async () => {
    await expect(findChromium({ CHROMIUM_PATH: join(scratch, 'nothing-here'), PATH: '' })).rejects.toThrow(
      `CHROMIUM_PATH is ${join(scratch, 'nothing-here')}`,
    );
  });

  it('when PATH holds chromium-browser and, further on, chromium, then chromium is preferred; a file that is not executable is passed over', async () => {
    file('path-b', 'chromium', 0o644);
    const browser = file('path-c', 'chromium-browser', 0o755);
    const chromiumBin = file('path-d', 'chromium', 0o755);
    const PATH = ['path-b', 'path-c', 'path-d'].map((d) => join(scratch, d)).join(':');
    expect(await findChromium({ PATH })).toEqual({ path: chromiumBin, from: 'PATH' });
    expect(await findChromium({ PATH: PATH.replace(`:${join(scratch, 'path-d')}`, '') })).toEqual({ path: browser, from: 'PATH' });
  });

  it('when no Chromium is configured or on PATH, then the one shipped in @sparticuz/chromium is unpacked and renders a page headless', async () => {
    const found = await findChromium({ PATH: join(scratch, 'empty') });
    expect(found.from).toBe('@sparticuz/chromium');
    expect(found.path).toMatch(/node_modules\/\.cache\/offramp-chromium\/[\d.]+\/chromium$/);
    expect(execFileSync(found.path, ['--version'], { encoding: 'utf8' })).toMatch(/^Chromium \d+\./);
    // A second lookup reuses the unpacked binary.
    expect(await findChromium({ PATH: '' })).toEqual(found);

    const browser = await chromium.launch({
      executablePath: found.path,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage();
      await page.setContent('<p id="answer"></p><script>document.getElementById("answer").textContent = String(6 * 7)</script>');
      expect(await page.locator('#answer').textContent()).toBe('42');
    } finally {
      await browser.close();
    }
  });
});
