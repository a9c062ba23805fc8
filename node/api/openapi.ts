/** The node API's OpenAPI document (served at the node's /openapi.json). */
import { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { ErrorBody, Rows, exported, html, makeRoute, notFound, type OpenApiDocument, type Schema, type Security } from '../../shared/openapi.js';

/** The node API's body schemas (node/api/app.ts passes its own; any left out are documented loosely). */
export interface NodeSchemas {
  StepBody: Schema;
  SaleBody: Schema;
  AdjustmentBody: Schema;
  ReceiptBody: Schema;
}

/** The node API's document, for a node to serve; `schemas` are the ones its handlers validate with. */
export function nodeOpenApiDocument(schemas: Partial<NodeSchemas> = {}): OpenApiDocument {
  const app = new OpenAPIHono();
  const r = app.openAPIRegistry;
  r.registerComponent('securitySchemes', 'associate', { type: 'http', scheme: 'bearer', description: 'the associate token (`DOM_ASSOCIATE_TOKEN`)' });
  const body = (name: keyof NodeSchemas) => exported(schemas, name, z.looseObject({}));
  const id = { id: z.string() };
  const Task = z.looseObject({ doId: z.string(), orderId: z.string(), kind: z.string(), status: z.string(), lines: Rows });
  const conflict: [string, Schema] = ['a step out of order (`step_not_allowed`, details: {state, allowed})', ErrorBody];

  const ops = makeRoute(r, 'operations');
  ops('get', '/healthz', { summary: 'liveness', security: 'none', responses: { 200: ['alive', z.object({ ok: z.literal(true) })] } });
  ops('get', '/', { summary: 'the associate page (asks for the associate token)', security: 'none', responses: { 200: html } });

  const tasks = makeRoute(r, 'tasks');
  const sec: Security = 'associate';
  tasks('get', '/api/v1/tasks', {
    summary: 'open DOs, oldest promise first',
    security: sec,
    query: { all: z.enum(['true', 'false']).optional() },
    responses: { 200: ['tasks', z.array(Task)] },
  });
  tasks('get', '/api/v1/dos/{id}', { summary: 'one task', security: sec, params: id, responses: { 200: ['the task', Task], 404: notFound('DO') } });
  const steps: [string, string][] = [
    ['ack', 'acknowledge'],
    ['pick', 'record picked quantities; less than ordered needs a reason (a short pick)'],
    ['pack', 'pack into packages (`{}`: one package)'],
    ['ship', 'hand to the carrier'],
    ['ready', 'ready for pickup (pickup DOs)'],
    ['pickedup', 'handed to the customer (name checked: 422 `name_mismatch`)'],
    ['reject', 'refuse the DO'],
  ];
  for (const [step, summary] of steps)
    tasks('post', `/api/v1/dos/{id}/${step}`, {
      summary,
      security: sec,
      params: id,
      body: body('StepBody'),
      responses: { 200: ['the task after the step', Task], 404: notFound('DO'), 409: conflict },
    });

  const inv = makeRoute(r, 'inventory');
  inv('post', '/api/v1/sales', {
    summary: 'a walk-in sale',
    security: sec,
    body: body('SaleBody'),
    responses: { 201: ['the sale, the position, the DOs flagged at risk', z.looseObject({})] },
  });
  inv('post', '/api/v1/adjustments', {
    summary: 'a cycle count',
    security: sec,
    body: body('AdjustmentBody'),
    responses: { 201: ['recorded', z.looseObject({})] },
  });
  inv('post', '/api/v1/receipts', {
    summary: 'receive an expected delivery',
    security: sec,
    body: body('ReceiptBody'),
    responses: { 201: ['recorded (over and short receipts reported)', z.looseObject({})] },
  });
  inv('get', '/api/v1/inventory', { summary: 'positions', security: sec, responses: { 200: ['positions', Rows] } });
  inv('get', '/api/v1/inbound', { summary: 'expected receipts', security: sec, responses: { 200: ['inbound', Rows] } });
  inv('get', '/api/v1/sync', {
    summary: 'sync state with the hub',
    security: sec,
    responses: { 200: ['state', z.looseObject({ online: z.boolean(), pending: z.number() })] },
  });

  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: { title: 'DOM node', version: '0.1.0', description: 'The associate API of a store or DC node; works with the hub down.' },
  });
}
