/**
 * The what-if page at `/simulation` (hub/web/simulation.html, .js, .css: plain browser code, no
 * build step, nothing loaded from elsewhere), under the dashboard's Content-Security-Policy.
 */
import { Hono } from 'hono';
import { readFileSync } from 'node:fs';

const here = (name: string) => readFileSync(new URL(`../web/${name}`, import.meta.url));
const files = { html: here('simulation.html'), js: here('simulation.js'), css: here('simulation.css') };
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; connect-src 'self'";
const TYPES = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

export function simulationPage() {
  const app = new Hono();
  const send = (body: Buffer, type: keyof typeof TYPES) =>
    new Response(new Uint8Array(body), {
      headers: {
        'content-type': TYPES[type],
        'content-security-policy': CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-cache',
      },
    });
  app.get('/simulation', () => send(files.html, 'html'));
  app.get('/web/simulation.js', () => send(files.js, 'js'));
  app.get('/web/simulation.css', () => send(files.css, 'css'));
  return app;
}
