/**
 * The associate page served by a node at `/`: one self-contained HTML response (inline CSS and
 * script, no build step, no external resources). The parts live next to this file as plain
 * page.html, style.css and client.js (browser code, not imported by Node); they are read and
 * assembled once when this module loads. The Content-Security-Policy allows exactly the inlined
 * script and style (by hash) and same-origin API calls, so even a value that slipped past the
 * page's escaping could not run a script or load anything from elsewhere.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

const read = (name: string) => readFileSync(new URL(`./${name}`, import.meta.url), 'utf8');
const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[c]!);
}

const script = read('client.js');
const style = read('style.css');
if (/<\/script/i.test(script) || /<\/style/i.test(style)) throw new Error('node/web: an inlined part contains a closing tag');
const csp = [
  "default-src 'none'",
  `script-src ${sha256(script)}`,
  `style-src ${sha256(style)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');
/** The policy the page carries in its meta tag; app.ts may also send it as a header (adding frame-ancestors). */
export const pageCsp = csp;
const skeleton = read('page.html').replace('{{csp}}', () => csp);
const byFacility = new Map<string, string>();

/** The page for one facility (its id shown in the title and header, escaped). */
export function pageHtml(facility: string): string {
  let page = byFacility.get(facility);
  if (!page) {
    const safe = escapeHtml(facility);
    // markers are filled in the skeleton first, so the inlined parts are never searched for them
    page = skeleton
      .replaceAll('{{facility}}', () => safe)
      .replace('{{style}}', () => style)
      .replace('{{script}}', () => script);
    if (byFacility.size < 64) byFacility.set(facility, page);
  }
  return page;
}
