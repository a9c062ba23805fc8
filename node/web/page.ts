/** Placeholder until the associate page lands; replaced by node/web/page.html. */
export function pageHtml(facility: string): string {
  return `<!doctype html><title>DOM ${facility}</title><p>DOM node ${facility}</p>`;
}
