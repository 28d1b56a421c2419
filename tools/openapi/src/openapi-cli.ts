import { mkdirSync, writeFileSync } from 'node:fs';
import { documentsDir, documentText, servedDocuments } from './documents.ts';

/**
 * `npm run openapi`: writes the gateway's and psp-alfred's OpenAPI documents, built from the route
 * declarations without any network, to docs/openapi/ (committed; a test checks they are up to date).
 */
mkdirSync(documentsDir, { recursive: true });
for (const [name, document] of Object.entries(await servedDocuments())) {
  writeFileSync(new URL(name, documentsDir), documentText(document));
  process.stdout.write(`wrote docs/openapi/${name}\n`);
}
