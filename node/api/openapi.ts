/** The node API's OpenAPI document (served at the node's /openapi.json), built from its route table. */
import { openApiDocument, type OpenApiDocument } from '../../shared/openapi.js';
import { NODE_ROUTES } from '../../shared/routes/node.js';

let doc: OpenApiDocument | undefined;
/** Built once per process: it depends on the route table only. */
export function nodeOpenApiDocument(): OpenApiDocument {
  doc ??= openApiDocument(NODE_ROUTES, {
    title: 'DOM node',
    description: 'The associate API of a store or DC node; works with the hub down.',
    securitySchemes: { associate: { type: 'http', scheme: 'bearer', description: 'the associate token (`DOM_ASSOCIATE_TOKEN`)' } },
  });
  return doc;
}
