/**
 * The hub's pages: the planner dashboard at `/` (dashboard.html, .css, .js beside this file: plain
 * browser code, no build step, nothing loaded from elsewhere) and Swagger UI at `/docs`, served
 * from the swagger-ui-dist package on this machine. Both carry a Content-Security-Policy that
 * allows only same-origin scripts, styles and API calls.
 */
import { Hono } from 'hono';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const here = (name: string) => readFileSync(new URL(`./${name}`, import.meta.url));
const files = {
  dashboard: here('dashboard.html'),
  js: here('dashboard.js'),
  css: here('dashboard.css'),
  pictures: here('dashboard-pictures.js'),
  docs: here('swagger.html'),
  docsInit: here('swagger-init.js'),
};

const swaggerDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const swaggerCache = new Map<string, Buffer>();
const swaggerFile = (name: string) => {
  let b = swaggerCache.get(name);
  if (!b) swaggerCache.set(name, (b = readFileSync(join(swaggerDir, name))));
  return b;
};

/**
 * The libraries the dashboard's map and charts use, served from node_modules as they ship (no CDN:
 * a store or hub network may have no internet): the US states of us-atlas (unprojected TopoJSON),
 * topojson-client, d3-geo (with d3-array, which it needs) and uPlot.
 */
const packageDir = (name: string, entry: string) => {
  const req = createRequire(import.meta.url);
  // a package without "exports" resolves its package.json; one with "exports" (d3) its entry file
  let file: string;
  try {
    file = req.resolve(`${name}/package.json`);
  } catch {
    file = req.resolve(name);
  }
  const mark = `/node_modules/${name}/`;
  return join(file.slice(0, file.lastIndexOf(mark) + mark.length), entry);
};
const VENDOR: Record<string, { pkg: string; file: string; type: 'js' | 'css' | 'json' }> = {
  'd3-array.js': { pkg: 'd3-array', file: 'dist/d3-array.min.js', type: 'js' },
  'd3-geo.js': { pkg: 'd3-geo', file: 'dist/d3-geo.min.js', type: 'js' },
  'topojson-client.js': { pkg: 'topojson-client', file: 'dist/topojson-client.min.js', type: 'js' },
  'uplot.js': { pkg: 'uplot', file: 'dist/uPlot.iife.min.js', type: 'js' },
  'uplot.css': { pkg: 'uplot', file: 'dist/uPlot.min.css', type: 'css' },
  'us-states.json': { pkg: 'us-atlas', file: 'states-10m.json', type: 'json' },
};
const vendorCache = new Map<string, Buffer>();
const vendorFile = (name: string) => {
  let b = vendorCache.get(name);
  if (!b) {
    const v = VENDOR[name]!;
    vendorCache.set(name, (b = readFileSync(packageDir(v.pkg, v.file))));
  }
  return b;
};

const common = "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; connect-src 'self'";
const DASHBOARD_CSP = `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; ${common}`;
// Swagger UI sets inline styles on its elements and draws icons from data: URIs
const DOCS_CSP = `default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; ${common}`;

const TYPES = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json; charset=utf-8',
};

export function webApp() {
  const app = new Hono();
  const send = (body: Buffer, type: keyof typeof TYPES, csp: string, cache = 'no-cache') =>
    new Response(new Uint8Array(body), {
      headers: {
        'content-type': TYPES[type],
        'content-security-policy': csp,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': cache,
      },
    });

  app.get('/', () => send(files.dashboard, 'html', DASHBOARD_CSP));
  app.get('/web/dashboard.js', () => send(files.js, 'js', DASHBOARD_CSP));
  app.get('/web/dashboard.css', () => send(files.css, 'css', DASHBOARD_CSP));
  app.get('/web/dashboard-pictures.js', () => send(files.pictures, 'js', DASHBOARD_CSP));
  app.get('/web/vendor/:name', (c) => {
    const name = c.req.param('name');
    const v = VENDOR[name];
    return v ? send(vendorFile(name), v.type, DASHBOARD_CSP, 'max-age=3600') : c.notFound();
  });

  app.get('/docs', () => send(files.docs, 'html', DOCS_CSP));
  app.get('/docs/init.js', () => send(files.docsInit, 'js', DOCS_CSP));
  app.get('/docs/swagger-ui.css', () => send(swaggerFile('swagger-ui.css'), 'css', DOCS_CSP, 'max-age=3600'));
  app.get('/docs/swagger-ui-bundle.js', () => send(swaggerFile('swagger-ui-bundle.js'), 'js', DOCS_CSP, 'max-age=3600'));
  return app;
}
