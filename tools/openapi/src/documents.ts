import { gatewayOpenApiDocument } from '@offramp/gateway';
import { pspAlfredOpenApiDocument } from '@offramp/psp-alfred';

/** Where the served OpenAPI documents are kept in the repository (`npm run openapi` writes them). */
export const documentsDir = new URL('../../../docs/openapi/', import.meta.url);

/** Every OpenAPI document the system serves, by file name, as `/docs/json` serves it. */
export async function servedDocuments(): Promise<Record<string, unknown>> {
  return { 'gateway.json': await gatewayOpenApiDocument(), 'psp-alfred.json': await pspAlfredOpenApiDocument() };
}

/** The file text of a document: stable, diff-friendly JSON. */
export const documentText = (document: unknown) => `${JSON.stringify(document, null, 2)}\n`;
