/**
 * Every path of a node's associate API, once: node/api/app.ts registers its handlers from this
 * table and validates with its schemas, node/api/openapi.ts builds the document from it, and
 * test/unit/route-table.test.ts checks that the two agree.
 */
import { z } from 'zod';
import { ErrorBody, Rows, html, notFound, routeTable, type RouteSpec, type Schema } from '../openapi.js';
import { AdjustmentBody, ReceiptBody, SaleBody, StepBody, TasksQuery } from '../bodies/node.js';
import type { Step } from '../states.js';

const id = { id: z.string() };
const Task = z.looseObject({ doId: z.string(), orderId: z.string(), kind: z.string(), status: z.string(), lines: Rows });
const outOfOrder: [string, Schema] = ['a step out of order (`step_not_allowed`, details: {state, allowed})', ErrorBody];
const step = <N extends Step>(name: N, summary: string) => ({
  method: 'post' as const,
  path: `/api/v1/dos/{id}/${name}` as const,
  tag: 'tasks',
  summary,
  security: 'associate' as const,
  params: id,
  body: StepBody,
  bodyOptional: true,
  responses: { 200: ['the task after the step', Task], 404: notFound('DO'), 409: outOfOrder } as RouteSpec['responses'],
});

export const NODE_ROUTES = routeTable({
  healthz: {
    method: 'get',
    path: '/healthz',
    tag: 'operations',
    summary: 'liveness',
    security: 'none',
    responses: { 200: ['alive', z.object({ ok: z.literal(true) })] },
  },
  page: {
    method: 'get',
    path: '/',
    tag: 'operations',
    summary: 'the associate page (asks for the associate token)',
    security: 'none',
    responses: { 200: html },
  },
  openapi: {
    method: 'get',
    path: '/openapi.json',
    tag: 'operations',
    summary: 'this document',
    security: 'none',
    responses: { 200: ['OpenAPI 3.1', z.looseObject({})] },
  },
  tasks: {
    method: 'get',
    path: '/api/v1/tasks',
    tag: 'tasks',
    summary: 'open DOs, oldest promise first',
    security: 'associate',
    query: TasksQuery,
    responses: { 200: ['tasks', z.array(Task)] },
  },
  task: {
    method: 'get',
    path: '/api/v1/dos/{id}',
    tag: 'tasks',
    summary: 'one task',
    security: 'associate',
    params: id,
    responses: { 200: ['the task', Task], 404: notFound('DO') },
  },
  ack: step('ack', 'acknowledge'),
  pick: step('pick', 'record picked quantities; less than ordered needs a reason (a short pick)'),
  pack: step('pack', 'pack into packages (`{}`: one package)'),
  ship: step('ship', 'hand to the carrier'),
  ready: step('ready', 'ready for pickup (pickup DOs)'),
  pickedup: step('pickedup', 'handed to the customer (name checked: 422 `name_mismatch`)'),
  reject: step('reject', 'refuse the DO'),
  sale: {
    method: 'post',
    path: '/api/v1/sales',
    tag: 'inventory',
    summary: 'a walk-in sale',
    security: 'associate',
    body: SaleBody,
    responses: { 201: ['the sale, the position, the DOs flagged at risk', z.looseObject({})] },
  },
  adjustment: {
    method: 'post',
    path: '/api/v1/adjustments',
    tag: 'inventory',
    summary: 'a cycle count',
    security: 'associate',
    body: AdjustmentBody,
    responses: { 201: ['recorded', z.looseObject({})] },
  },
  receipt: {
    method: 'post',
    path: '/api/v1/receipts',
    tag: 'inventory',
    summary: 'receive an expected delivery',
    security: 'associate',
    body: ReceiptBody,
    responses: { 201: ['recorded (over and short receipts reported)', z.looseObject({})] },
  },
  inventory: {
    method: 'get',
    path: '/api/v1/inventory',
    tag: 'inventory',
    summary: 'positions',
    security: 'associate',
    responses: { 200: ['positions', Rows] },
  },
  inbound: {
    method: 'get',
    path: '/api/v1/inbound',
    tag: 'inventory',
    summary: 'expected receipts',
    security: 'associate',
    responses: { 200: ['inbound', Rows] },
  },
  sync: {
    method: 'get',
    path: '/api/v1/sync',
    tag: 'inventory',
    summary: 'sync state with the hub',
    security: 'associate',
    responses: { 200: ['state', z.looseObject({ online: z.boolean(), pending: z.number() })] },
  },
});

/** The steps, as the table has them (`/api/v1/dos/{id}/ack` …). */
export const STEP_ROUTES = [NODE_ROUTES.ack, NODE_ROUTES.pick, NODE_ROUTES.pack, NODE_ROUTES.ship, NODE_ROUTES.ready, NODE_ROUTES.pickedup, NODE_ROUTES.reject];
