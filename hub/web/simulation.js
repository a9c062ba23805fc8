// The what-if page: run a simulation over a window of real orders, follow its progress, read the
// comparison (table, charts, changed orders with both explanations), download it as CSV, apply a
// candidate as the live configuration and roll it back. The planner token is the dashboard's (kept
// in localStorage); every value from the API is put in the page as text, never as markup.
'use strict';

const TOKEN_KEY = 'dom.plannerToken';
const SVG = 'http://www.w3.org/2000/svg';
let token = localStorage.getItem(TOKEN_KEY);
let shown = null; // the simulation on screen

const $ = (id) => document.getElementById(id);
function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}
function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}
const fmt = (n, d = 2) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: 0 }));
const pct = (n) => (n === null || n === undefined ? '–' : `${(n * 100).toFixed(1)}%`);

async function call(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  if (res.status === 401) {
    signOut();
    throw new Error('the planner token was refused');
  }
  const text = await res.text();
  let data = text;
  try {
    data = JSON.parse(text);
  } catch {
    /* CSV */
  }
  if (!res.ok) throw new Error(data && data.error ? `${data.error.code}: ${data.error.message}` : `HTTP ${res.status}`);
  return data;
}

function signOut() {
  localStorage.removeItem(TOKEN_KEY);
  token = null;
  $('sim').hidden = true;
  $('signin').hidden = false;
}

function localInput(d) {
  const z = new Date(d.getTime() - d.getTimezoneOffset() * 60000);
  return z.toISOString().slice(0, 19);
}

async function showLive() {
  const cfg = await call('GET', '/api/v1/sourcing');
  $('live-config').textContent = `live configuration v${cfg.version}${cfg.by ? `, applied by ${cfg.by} at ${cfg.appliedAt}` : ' (from --sourcing)'}`;
}

async function showRecent() {
  const list = await call('GET', '/api/v1/simulations');
  const ul = $('recent');
  ul.replaceChildren(
    ...list.map((r) => {
      const a = el('a', { href: `/simulation?id=${encodeURIComponent(r.id)}` }, r.id);
      a.addEventListener('click', (ev) => {
        ev.preventDefault();
        history.replaceState(null, '', a.href);
        follow(r.id);
      });
      return el(
        'li',
        {},
        a,
        ` · ${r.status} · ${r.createdAt}${r.window ? ` · ${r.window.from} → ${r.window.to}` : ''} · ${(r.candidateNames || []).join(', ')}`,
      );
    }),
  );
  if (!list.length) ul.replaceChildren(el('li', {}, 'none yet'));
}

async function follow(id) {
  $('progress-box').hidden = false;
  $('run-error').textContent = '';
  for (;;) {
    const run = await call('GET', `/api/v1/simulations/${encodeURIComponent(id)}`);
    const p = run.progress || { done: 0, total: 0, phase: run.status };
    $('progress').max = Math.max(1, p.total);
    $('progress').value = p.done;
    $('progress-text').textContent = `${run.status}${p.phase !== run.status ? `: ${p.phase}` : ''}${p.total ? ` (${p.done} of ${p.total} batches)` : ''}`;
    if (run.status === 'done') return render(run);
    if (run.status === 'failed') {
      $('run-error').textContent = `the simulation failed: ${run.error ? `${run.error.code}: ${run.error.message}` : 'unknown error'}`;
      return;
    }
    await new Promise((r) => setTimeout(r, 400));
  }
}

function planText(v) {
  const picks = v.picks.map((x) => `L${x.line} ${x.facility} ${x.sku}×${x.qty}${x.substitute ? ' (sub)' : ''}`).join(', ');
  const unfilled = v.unfilled.length ? ` · unfilled ${v.unfilled.map((u) => `L${u.line}×${u.qty}`).join(', ')}` : '';
  return (picks || 'nothing') + unfilled;
}

function render(run) {
  shown = run;
  const r = run.result;
  $('results').hidden = false;
  $('result-meta').textContent = `${run.id} · ${r.orders} orders in ${r.batches} batches · ${r.elapsedMs} ms`;
  const f = r.fidelity;
  $('fidelity').textContent = f
    ? `Replay of the current configuration: ${f.matching} of ${f.checked} orders sourced exactly as live${f.checked === f.matching ? ' (faithful)' : ''}.`
    : '';
  const body = $('summary').tBodies[0];
  body.replaceChildren(
    ...r.configurations.map((c) => {
      const d = c.vsCurrent;
      const sign = (n) => (n > 0 ? '+' : '');
      const deltaText = d
        ? `${sign(d.costDelta)}${fmt(d.costDelta)}${d.costDeltaPct !== null ? ` (${sign(d.costDeltaPct)}${fmt(d.costDeltaPct, 1)}%)` : ''}`
        : '–';
      const delta = el('td', { class: `num ${d ? (d.costDelta > 0 ? 'up' : d.costDelta < 0 ? 'down' : '') : ''}` }, deltaText);
      const action = el('td');
      if (c.name !== 'current' && run.source === 'window') {
        const b = el('button', { type: 'button', 'data-apply': c.name }, 'Apply');
        b.addEventListener('click', () => apply(c.name));
        action.append(b);
      }
      return el(
        'tr',
        { class: c.name === 'current' ? 'current' : '' },
        el('td', {}, c.name),
        el('td', { class: 'num' }, fmt(c.cost)),
        delta,
        el('td', { class: 'num' }, fmt(c.costPerOrder)),
        el('td', { class: 'num' }, fmt(c.shipmentsPerOrder, 3)),
        el('td', { class: 'num' }, fmt(c.unitsFilled, 0)),
        el('td', { class: 'num' }, fmt(c.unitsBackordered, 0)),
        el('td', { class: 'num' }, pct(c.fillRate)),
        el('td', { class: 'num' }, fmt(c.substituteUnits, 0)),
        el('td', { class: 'num' }, fmt(c.distanceKm, 1)),
        el('td', { class: 'num' }, d ? fmt(d.changedOrders, 0) : '–'),
        action,
      );
    }),
  );
  $('moves').tBodies[0].replaceChildren(
    ...r.configurations
      .filter((c) => c.vsCurrent)
      .map((c) =>
        el(
          'tr',
          {},
          el('td', {}, c.name),
          el('td', {}, c.vsCurrent.gainers.map((g) => `${g.facility} +${g.units}`).join(', ') || '–'),
          el('td', {}, c.vsCurrent.losers.map((g) => `${g.facility} ${g.units}`).join(', ') || '–'),
        ),
      ),
  );
  const rows = [];
  for (const c of r.configurations)
    for (const ch of c.vsCurrent ? c.vsCurrent.changed : []) {
      const link = el('a', { href: `/#order=${encodeURIComponent(ch.order)}`, title: 'the order as it stands live' }, ch.order);
      link.addEventListener('click', (ev) => {
        if (ev.ctrlKey || ev.metaKey || ev.shiftKey) return; // a new tab: the dashboard
        ev.preventDefault();
        showOrder(ch.order).catch((err) => ($('run-error').textContent = err.message));
      });
      const ex = el(
        'details',
        {},
        el('summary', {}, 'both explanations'),
        el('pre', {}, `current: ${JSON.stringify(ch.current.explanation, null, 1)}\n\n${c.name}: ${JSON.stringify(ch.candidate.explanation, null, 1)}`),
      );
      rows.push(
        el(
          'tr',
          { 'data-order': ch.order },
          el('td', {}, c.name),
          el('td', {}, link),
          el('td', {}, planText(ch.current)),
          el('td', {}, planText(ch.candidate)),
          el('td', { class: 'num' }, fmt(ch.costDelta)),
          el('td', {}, ex),
        ),
      );
    }
  $('changed').tBodies[0].replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colSpan: 6 }, 'no order changed its sourcing'))]));
  $('notes').replaceChildren(
    ...[...r.notes, ...Object.entries(r.skipped).map(([k, n]) => `${n} order(s) not replayed: ${k.replace(/_/g, ' ')}`)].map((n) => el('li', {}, n)),
  );
  chartCost(r.configurations);
  chartLoad(r.configurations);
}

async function showOrder(id) {
  const o = await call('GET', `/api/v1/orders/${encodeURIComponent(id)}`);
  $('order-panel').hidden = false;
  $('order-id').textContent = o.id;
  $('order-dashboard').href = `/#order=${encodeURIComponent(o.id)}`;
  $('order-status').textContent = `${o.status} · ${o.channel} · ${o.delivery}${o.pickupFacility ? ` at ${o.pickupFacility}` : ''} · priority ${o.priority}`;
  $('order-lines').tBodies[0].replaceChildren(
    ...o.lines.map((l) =>
      el(
        'tr',
        {},
        el('td', {}, l.line),
        el('td', {}, l.sku),
        el('td', { class: 'num' }, l.qty),
        el('td', {}, l.status),
        el('td', {}, l.allocations.map((a) => `${a.facility} ${a.sku}×${a.qty} (${a.doStatus})`).join(', ') || '–'),
      ),
    ),
  );
  $('order-explanation').textContent = JSON.stringify(o.explanation, null, 1);
  $('order-panel').scrollIntoView({ block: 'nearest' });
}

function chartCost(configs) {
  const s = $('chart-cost');
  const w = 460,
    rowH = 34,
    h = 26 + configs.length * rowH;
  s.setAttribute('viewBox', `0 0 ${w} ${h}`);
  const max = Math.max(1, ...configs.map((c) => c.cost));
  const kids = [svg('text', { x: 120, y: 14 }, 'cost'), svg('text', { x: 330, y: 14 }, 'fill rate')];
  configs.forEach((c, i) => {
    const y = 22 + i * rowH;
    kids.push(svg('text', { x: 4, y: y + 14 }, c.name.slice(0, 16)));
    kids.push(svg('rect', { class: 'bar-cost', x: 120, y, width: Math.max(1, (c.cost / max) * 190), height: 12, 'data-config': c.name }));
    kids.push(svg('text', { x: 120, y: y + 26 }, fmt(c.cost)));
    kids.push(svg('rect', { class: 'bar-fill', x: 330, y, width: Math.max(1, c.fillRate * 120), height: 12 }));
    kids.push(svg('text', { x: 330, y: y + 26 }, pct(c.fillRate)));
  });
  s.replaceChildren(...kids);
}

function chartLoad(configs) {
  // per facility and configuration: the peak day's units against the facility's daily capacity
  const s = $('chart-load');
  const facilities = [...new Set(configs.flatMap((c) => c.load.filter((l) => l.units > 0).map((l) => l.facility)))].slice(0, 40);
  const w = 460,
    left = 100,
    span = 250,
    group = configs.length * 11 + 8,
    h = 34 + facilities.length * group;
  s.setAttribute('viewBox', `0 0 ${w} ${h}`);
  const top = Math.max(1, ...configs.flatMap((c) => c.load.filter((l) => facilities.includes(l.facility)).map((l) => l.utilisation ?? 0)));
  const x = (u) => left + (Math.min(u, top) / top) * span;
  const kids = [
    svg('text', { x: left, y: 12 }, 'peak day as a share of capacity'),
    svg('line', { class: 'cap-line', x1: x(1), x2: x(1), y1: 16, y2: h - 4 }),
    svg('text', { x: x(1) - 14, y: 26 }, '100%'),
  ];
  const shades = ['#2357c6', '#1f8a4c', '#a35c00', '#7b3fb8', '#b42318', '#0f7c8c', '#5b6472', '#c2185b', '#3e6b00'];
  facilities.forEach((f, i) => {
    const y = 30 + i * group;
    kids.push(svg('text', { x: 4, y: y + 9 }, f.slice(0, 14)));
    configs.forEach((c, j) => {
      const l = c.load.find((v) => v.facility === f);
      if (!l) return;
      const u = l.utilisation ?? (l.peakUnits > 0 ? top : 0);
      const bar = svg('rect', {
        x: left,
        y: y + j * 11,
        width: Math.max(1, x(u) - left),
        height: 9,
        fill: shades[j % shades.length],
        'data-config': c.name,
        'data-facility': f,
      });
      bar.append(svg('title', {}, `${c.name} · ${f}: peak ${l.peakUnits} of ${l.capacity} a day${l.enabled ? '' : ' (disabled)'}`));
      kids.push(bar, svg('text', { x: Math.max(1, x(u)) + 4, y: y + j * 11 + 8, class: 'small' }, `${c.name}: ${l.peakUnits}/${l.capacity}`));
    });
  });
  s.replaceChildren(...kids);
}

async function apply(candidate) {
  const by = $('by').value.trim();
  if (!by) {
    $('apply-status').textContent = 'enter your name in "Applied by" first';
    $('by').focus();
    return;
  }
  try {
    const cfg = await call('POST', `/api/v1/simulations/${encodeURIComponent(shown.id)}/apply`, { candidate, by });
    $('apply-status').textContent = `applied "${candidate}" as live configuration v${cfg.version}`;
  } catch (err) {
    $('apply-status').textContent = `not applied: ${err.message}`;
  }
  await showLive().catch(() => undefined);
}

async function rollback() {
  const by = $('by').value.trim();
  if (!by) {
    $('apply-status').textContent = 'enter your name in "Applied by" first';
    return;
  }
  try {
    const cfg = await call('POST', '/api/v1/sourcing/rollback', { by });
    $('apply-status').textContent = `rolled back: live configuration v${cfg.version}`;
  } catch (err) {
    $('apply-status').textContent = `not rolled back: ${err.message}`;
  }
  await showLive().catch(() => undefined);
}

async function download(table) {
  const text = await call('GET', `/api/v1/simulations/${encodeURIComponent(shown.id)}?format=csv&table=${table}`);
  const a = el('a', { href: URL.createObjectURL(new Blob([text], { type: 'text/csv' })), download: `simulation-${shown.id}-${table}.csv` });
  document.body.append(a);
  a.click();
  a.remove();
}

async function start() {
  $('signin').hidden = true;
  $('sim').hidden = false;
  const now = new Date();
  if (!$('from').value) $('from').value = localInput(new Date(now.getTime() - 86_400_000));
  if (!$('to').value) $('to').value = localInput(now);
  if (!$('candidates').value) $('candidates').value = JSON.stringify([{ name: 'dearer shipments', costs: { perShipment: 9 } }], null, 1);
  await Promise.all([showLive(), showRecent()]).catch((err) => ($('run-error').textContent = err.message));
  const id = new URLSearchParams(location.search).get('id');
  if (id) await follow(id).catch((err) => ($('run-error').textContent = err.message));
}

$('signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const candidate = $('token').value.trim();
  const res = await fetch('/api/v1/sourcing', { headers: { authorization: `Bearer ${candidate}` } }).catch(() => null);
  if (!res || !res.ok) {
    $('signin-error').textContent = res ? 'that token was refused' : 'the hub cannot be reached';
    return;
  }
  token = candidate;
  localStorage.setItem(TOKEN_KEY, token);
  start();
});

$('run-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('run-error').textContent = '';
  let candidates;
  try {
    candidates = JSON.parse($('candidates').value);
  } catch {
    $('run-error').textContent = 'the candidates are not valid JSON';
    return;
  }
  try {
    const window = { from: new Date($('from').value).toISOString(), to: new Date($('to').value).toISOString() };
    const run = await call('POST', '/api/v1/simulations', { window, candidates });
    history.replaceState(null, '', `/simulation?id=${encodeURIComponent(run.id)}`);
    await follow(run.id);
    await showRecent();
  } catch (err) {
    $('run-error').textContent = err.message;
  }
});
$('rollback').addEventListener('click', rollback);
for (const b of document.querySelectorAll('[data-csv]'))
  b.addEventListener('click', () => download(b.getAttribute('data-csv')).catch((err) => ($('run-error').textContent = err.message)));

if (token) start();
else $('signin').hidden = false;
