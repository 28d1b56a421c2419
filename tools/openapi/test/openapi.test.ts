import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { documentsDir, documentText, servedDocuments } from '../src/documents.ts';

describe('the committed OpenAPI documents', () => {
  it('when the gateway and psp-alfred are built, then docs/openapi/*.json (what `npm run lint:api` lints) is exactly what they serve; `npm run openapi` rewrites them', async () => {
    const served = await servedDocuments();
    expect(Object.keys(served).sort()).toEqual(['gateway.json', 'psp-alfred.json']);
    for (const [name, document] of Object.entries(served)) {
      const committed = readFileSync(new URL(name, documentsDir), 'utf8');
      expect(committed, `docs/openapi/${name} is stale: run npm run openapi`).toBe(documentText(document));
    }
  });
});
