/**
 * The OpenAPI 3.1 document of the hub (served at /openapi.json, browsed at /docs), built from the
 * hub's route table (shared/routes/hub.ts): the request schemas are the very zod schemas the
 * handlers validate with, so the document cannot drift from what the API accepts. The node's
 * document is node/api/openapi.ts.
 */
import { openApiDocument, type OpenApiDocument } from '../shared/openapi.js';
import { HUB_ROUTES } from '../shared/routes/hub.js';

function buildHub(): OpenApiDocument {
  return openApiDocument(HUB_ROUTES, {
    title: 'DOM hub',
    description: 'Planner API, sync gateway and operations endpoints of the DOM hub. Errors are `{"error":{"code","message","details"?}}`.',
    securitySchemes: {
      planner: { type: 'http', scheme: 'bearer', description: 'the planner token (`DOM_PLANNER_TOKEN`)' },
      plannerQuery: {
        type: 'apiKey',
        in: 'query',
        name: 'token',
        description: 'the planner token as `?token=`, accepted on /api/v1/events only (EventSource cannot send headers)',
      },
      node: { type: 'http', scheme: 'bearer', description: 'a node sync token, returned once by POST /api/v1/facilities' },
    },
    tags: [
      { name: 'orders', description: 'customer orders and their fulfilment' },
      { name: 'facilities', description: 'stores, DCs and their nodes' },
      { name: 'catalogue', description: 'items and inventory' },
      { name: 'planning', description: 'purchase orders, shipments, model stock, forecasts, replenishment, ATP' },
      { name: 'simulations', description: 'what-if: replay real orders under candidate sourcing configurations, apply one, roll back' },
      { name: 'sync gateway', description: 'the CouchDB replication endpoints a node uses' },
      { name: 'operations', description: 'health, metrics, documentation, dashboard' },
    ],
  });
}

let hubDoc: OpenApiDocument | undefined;
/** The hub's document; built once per process (it does not depend on the hub's state). */
export function hubOpenApiDocument(): OpenApiDocument {
  hubDoc ??= buildHub();
  return hubDoc;
}

export type { OpenApiDocument } from '../shared/openapi.js';
