// The planner dashboard: plain browser code, served as is (no build step). Every value from the
// API reaches the page as a text node (h() below), never as markup. The planner token is kept in
// localStorage and sent as a bearer header, also on the event stream, which is read with fetch
// (EventSource cannot send headers), resuming from the last event id after a drop.
'use strict';

const TOKEN_KEY = 'dom.plannerToken';
const ORDER_STATUSES = [
  'received',
  'allocated',
  'partially_allocated',
  'backordered',
  'released',
  'in_fulfilment',
  'partially_shipped',
  'shipped',
  'ready_for_pickup',
  'completed',
  'cancelled',
];
const TONE = {
  shipped: 'good',
  completed: 'good',
  picked_up: 'good',
  allocated: 'active',
  released: 'active',
  in_fulfilment: 'active',
  acknowledged: 'active',
  picked: 'active',
  packed: 'active',
  ready_for_pickup: 'active',
  partially_allocated: 'warn',
  partially_shipped: 'warn',
  backordered: 'warn',
  short_picked: 'warn',
  cancelled: 'bad',
  rejected: 'bad',
  held: 'warn',
};

/**
 * The state a planner sees: an order on hold (fraud review, a future ship date, by hand) waits
 * as "held", with its reason and until-date, rather than looking like an order just received.
 */
const shownStatus = (o) => (o.hold && o.status === 'received' ? 'held' : o.status);
const holdText = (hold) => `${label(hold.reason)}${hold.until ? ` until ${new Date(hold.until).toLocaleString()}` : ''}`;
const orderBadge = (o) => {
  const b = badge(shownStatus(o));
  if (o.hold) b.title = `held: ${holdText(o.hold)}`;
  return b;
};
const BACKORDER_STATUSES = new Set(['backordered', 'partially_allocated']);

let token = localStorage.getItem(TOKEN_KEY);
let orders = [];
let statusFilter = null;
let currentOrder = null;
let stream = null;
let lastEventId = null;
let timers = [];
let connectedBefore = false;

const $ = (sel) => document.querySelector(sel);

/** Build an element; strings and numbers become text nodes, so nothing inserted is parsed as HTML. */
function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids.flat(Infinity)) {
    if (k === null || k === undefined || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}
const label = (s) => String(s ?? '').replace(/_/g, ' ');
const badge = (status) => h('span', { class: `badge ${TONE[status] || ''}`, 'data-status': status }, label(status));
const num = (v) => h('td', { class: 'num' }, v === null || v === undefined ? '—' : v);
const empty = (cols, text) => h('tr', {}, h('td', { class: 'empty', colspan: cols }, text));
const orderLink = (id) => h('button', { type: 'button', class: 'linklike', onclick: () => lookup(id) }, id);

function ago(iso) {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}
const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

class Unauthorized extends Error {}

async function api(path) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token}` }, cache: 'no-store' });
  if (res.status === 401) throw new Unauthorized('the planner token was refused');
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const err = new Error(body?.error?.message || `HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return body;
}

/** Run a loader; a refused token sends the planner back to sign in. */
function guard(fn) {
  return async (...args) => {
    try {
      return await fn(...args);
    } catch (err) {
      if (err instanceof Unauthorized) signOut('The planner token was refused. Sign in again.');
      else console.warn(err);
    }
  };
}

// ------------------------------------------------------------------ orders by state, lists

const loadOrders = guard(async () => {
  orders = await api('/api/v1/orders?limit=500');
  renderTiles();
  renderOrders();
  renderBackorders();
});

function renderTiles() {
  const counts = new Map(['held', ...ORDER_STATUSES].map((s) => [s, 0]));
  for (const o of orders) counts.set(shownStatus(o), (counts.get(shownStatus(o)) || 0) + 1);
  $('#orders-total').textContent = `${orders.length} order${orders.length === 1 ? '' : 's'}${orders.length >= 500 ? ' (first 500)' : ''}`;
  $('#tiles').replaceChildren(
    ...[...counts].map(([s, n]) =>
      h(
        'button',
        {
          type: 'button',
          class: `tile ${TONE[s] || ''} ${n ? '' : 'zero'} ${statusFilter === s ? 'sel' : ''}`,
          'data-status': s,
          'aria-pressed': statusFilter === s ? 'true' : 'false',
          onclick: () => {
            statusFilter = statusFilter === s ? null : s;
            renderTiles();
            renderOrders();
          },
        },
        h('b', {}, n),
        h('span', {}, label(s)),
      ),
    ),
  );
}

function renderOrders() {
  const list = orders.filter((o) => !statusFilter || shownStatus(o) === statusFilter).sort((a, b) => String(b.updatedAt).localeCompare(String(a.updatedAt)));
  $('#orders-filter').textContent = statusFilter ? `showing ${label(statusFilter)}` : 'newest first';
  const rows = list
    .slice(0, 100)
    .map((o) =>
      h(
        'tr',
        { 'data-order': o.id },
        h('td', {}, orderLink(o.id)),
        h('td', {}, orderBadge(o)),
        h('td', {}, label(o.channel)),
        num(o.priority),
        h('td', { title: o.updatedAt, class: 'nowrap' }, ago(o.updatedAt)),
      ),
    );
  $('#orders-table tbody').replaceChildren(...(rows.length ? rows : [empty(5, 'No orders.')]));
}

function renderBackorders() {
  const list = orders
    .filter((o) => BACKORDER_STATUSES.has(o.status))
    .sort((a, b) => a.priority - b.priority || String(a.createdAt).localeCompare(String(b.createdAt)));
  $('#backorders-count').textContent = `${list.length} waiting for stock`;
  const rows = list.map((o) =>
    h('tr', {}, h('td', {}, orderLink(o.id)), h('td', {}, badge(o.status)), num(o.priority), h('td', { title: o.createdAt }, ago(o.createdAt))),
  );
  $('#backorders-table tbody').replaceChildren(...(rows.length ? rows : [empty(4, 'No backorders.')]));
}

const loadAtRisk = guard(async () => {
  const dos = await api('/api/v1/dos?atRisk=true&limit=100');
  $('#atrisk-count').textContent = `${dos.length} open`;
  const rows = dos.map((d) =>
    h(
      'tr',
      {},
      h('td', {}, orderLink(d.orderId), h('div', { class: 'muted' }, d.doId)),
      h('td', {}, d.facility),
      h('td', {}, badge(d.state)),
      h('td', {}, d.lines.map((l) => `${l.qty} × ${l.sku}`).join(', ')),
    ),
  );
  $('#atrisk-table tbody').replaceChildren(...(rows.length ? rows : [empty(4, 'No DO is at risk.')]));
});

// ------------------------------------------------------------------ order lookup

async function lookup(id) {
  id = String(id).trim();
  if (!id) return;
  $('#order-id').value = id;
  currentOrder = id;
  await refreshOrder();
}

const refreshOrder = guard(async () => {
  const id = currentOrder;
  if (!id) return;
  const view = $('#order-view');
  try {
    const o = await api(`/api/v1/orders/${encodeURIComponent(id)}`);
    if (currentOrder === id) view.replaceChildren(...renderOrder(o).filter(Boolean));
  } catch (err) {
    if (err instanceof Unauthorized) throw err;
    if (currentOrder === id) view.replaceChildren(h('p', { class: 'error' }, err.status === 404 ? `No order "${id}".` : String(err.message)));
  }
});

function renderOrder(o) {
  const out = [
    h(
      'div',
      { class: 'order-head' },
      h('span', { class: 'id' }, o.id),
      h('span', { id: 'order-status' }, orderBadge(o)),
      h(
        'span',
        { class: 'muted' },
        `${label(o.channel)} · priority ${o.priority} · ${o.delivery === 'pickup' ? `pickup at ${o.pickupFacility}` : 'ship'} · created ${ago(o.createdAt)}`,
      ),
    ),
    o.hold ? h('p', { class: 'hold', id: 'order-hold' }, `Held: ${holdText(o.hold)}. It is allocated when the hold ends or is released.`) : null,
    h('h3', {}, 'Lines'),
    h(
      'div',
      { class: 'scroll-x' },
      h(
        'table',
        { class: 'lines' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'Line'),
            h('th', {}, 'SKU'),
            h('th', { class: 'num' }, 'Qty'),
            h('th', {}, 'Status'),
            h('th', {}, 'Allocations (facility · units · DO · state)'),
          ),
        ),
        h(
          'tbody',
          {},
          o.lines.map((l) =>
            h(
              'tr',
              {},
              num(l.line),
              h('td', {}, l.sku),
              num(l.qty),
              h(
                'td',
                {},
                badge(l.status),
                l.unallocated
                  ? h('div', { class: 'muted' }, `${l.unallocated} unallocated${l.promiseDate ? `, promised ${l.promiseDate.slice(0, 10)}` : ''}`)
                  : null,
              ),
              h(
                'td',
                {},
                l.allocations.length
                  ? l.allocations.map((a) =>
                      h(
                        'div',
                        { class: 'alloc', 'data-do': a.doId },
                        `${a.facility} · ${a.qty}${a.sku !== l.sku ? ` × ${a.sku}` : ''} · ${a.doId} · `,
                        badge(a.doStatus),
                      ),
                    )
                  : h('span', { class: 'muted' }, 'none'),
              ),
            ),
          ),
        ),
      ),
    ),
  ];
  // the decision drawn on a map (dashboard-pictures.js), above the explanation tables it draws
  out.push(window.Pictures?.decision(o));
  out.push(...renderExplanation(o.explanation));
  return out;
}

function renderExplanation(x) {
  if (!x) return [h('h3', {}, 'Explanation'), h('p', { class: 'muted' }, 'Not allocated yet.')];
  if (x.handover) return [h('h3', {}, 'Explanation'), h('p', {}, `Handover at the pickup store of ${[].concat(x.handover).join(', ')}.`)];
  const chosen = new Map((x.chosen || []).map((c) => [c.facility, c]));
  const out = [
    h('h3', {}, `Explanation (attempt ${x.attempt ?? '?'})`),
    h(
      'div',
      { class: 'facts' },
      x.strategy ? h('span', {}, 'strategy ', h('b', {}, x.strategy)) : null,
      x.cost !== undefined ? h('span', {}, 'total cost ', h('b', { id: 'order-cost' }, Number(x.cost).toFixed(2))) : null,
      h('span', {}, 'chosen ', h('b', {}, [...chosen.keys()].join(', ') || 'none')),
    ),
    h(
      'div',
      { class: 'scroll-x' },
      h(
        'table',
        { class: 'candidates' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'Candidate'),
            h('th', { class: 'num' }, 'km'),
            h('th', { class: 'num' }, 'Units'),
            h('th', { class: 'num' }, 'Cost'),
            h('th', {}, 'Outcome'),
          ),
        ),
        h(
          'tbody',
          {},
          (x.candidates || []).map((c) => {
            const pick = chosen.get(c.facility);
            return h(
              'tr',
              { class: pick ? 'chosen' : c.excluded ? 'excluded' : '', 'data-facility': c.facility },
              h('td', {}, c.facility),
              num(c.km),
              num(pick ? pick.units : c.units),
              num(pick ? Number(pick.cost).toFixed(2) : null),
              h('td', {}, pick ? h('span', { class: 'badge good' }, 'chosen') : c.excluded ? `excluded: ${c.excluded}` : 'not needed'),
            );
          }),
        ),
      ),
    ),
  ];
  if (x.substitutions && x.substitutions.length)
    out.push(
      h('h3', {}, 'Substitutions'),
      h(
        'ul',
        { class: 'plain' },
        x.substitutions.map((s) => h('li', {}, s)),
      ),
    );
  if (x.unfilled && x.unfilled.length)
    out.push(
      h('h3', {}, 'Unfilled'),
      h(
        'ul',
        { class: 'plain' },
        x.unfilled.map((u) => h('li', {}, `line ${u.line}: ${u.qty} units`)),
      ),
    );
  return out;
}

// ------------------------------------------------------------------ network inventory

const searchSku = guard(async (sku) => {
  const view = $('#sku-view');
  try {
    const inv = await api(`/api/v1/inventory/${encodeURIComponent(sku)}`);
    const row = (f, cls) =>
      h(
        'tr',
        { class: cls || '' },
        h('td', {}, f.facility),
        num(f.onHand),
        num(f.reserved),
        num(f.available),
        num(f.inTransit),
        num(f.onOrder),
        h('td', { class: 'num' }, f.modelStock ? `${f.modelStock.min}–${f.modelStock.max}` : cls ? '' : '—'),
      );
    view.replaceChildren(
      h(
        'div',
        { class: 'scroll-x scroll' },
        h(
          'table',
          { id: 'sku-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Facility', 'On hand', 'Reserved', 'Available', 'In transit', 'On order', 'Model stock'].map((t, i) => h('th', { class: i ? 'num' : '' }, t)),
            ),
          ),
          h(
            'tbody',
            {},
            inv.facilities.length ? inv.facilities.map((f) => row(f)) : empty(7, `No facility holds ${inv.sku}.`),
            row({ facility: 'Network', ...inv.totals }, 'total'),
          ),
        ),
      ),
    );
  } catch (err) {
    if (err instanceof Unauthorized) throw err;
    view.replaceChildren(h('p', { class: 'error' }, err.status === 404 ? `No item "${sku}".` : String(err.message)));
  }
});

// ------------------------------------------------------------------ nodes

const loadNodes = guard(async () => {
  const nodes = await api('/api/v1/nodes');
  const up = nodes.filter((n) => n.online).length;
  $('#nodes-summary').textContent = `${up} of ${nodes.length} online`;
  const rows = nodes.map((n) =>
    h(
      'tr',
      { 'data-node': n.id },
      h('td', {}, n.id),
      h('td', {}, h('span', { class: `dot ${n.online ? 'on' : 'off'}` }), n.online ? 'online' : 'offline'),
      num(n.pending),
      h('td', { title: n.lastSeen || '' }, ago(n.lastSeen)),
      h('td', { class: 'num', title: n.errors && n.errors[0] ? `${n.errors[0].code}: ${n.errors[0].message}` : '' }, n.errorCount),
    ),
  );
  $('#nodes-table tbody').replaceChildren(...(rows.length ? rows : [empty(5, 'No node registered.')]));
});

// ------------------------------------------------------------------ live events

function describe(e) {
  const d = e.data || {};
  if (e.type === 'order') return `order ${d.id} ${d.cancelRequested ? 'cancel requested' : label(d.status)}`;
  if (e.type === 'do') return `DO ${d.doId} at ${d.facility}: ${label(d.state)}`;
  if (e.type === 'allocation') return `allocation batch: ${d.orders} order(s), ${d.allocated} allocated, ${d.ms} ms`;
  if (e.type === 'supply') return `${d.type === 'po' ? 'purchase order' : 'shipment'} ${d.id} to ${d.facility}`;
  if (e.type === 'facility')
    return `facility ${d.id} changed by the ${d.by}: ${Object.entries(d.changes || {})
      .map(([k, v]) => `${k} ${v.from ?? '—'} → ${v.to ?? '—'}`)
      .join(', ')}`;
  return JSON.stringify(d);
}

function addToFeed(e) {
  const feed = $('#feed');
  feed.prepend(h('li', { class: 'flash' }, h('time', { datetime: e.at }, clock(e.at)), h('span', { class: 'type' }, e.type), h('span', {}, describe(e))));
  while (feed.children.length > 30) feed.lastChild.remove();
}

let listsDue = null;
function refreshListsSoon() {
  clearTimeout(listsDue);
  listsDue = setTimeout(() => {
    loadOrders();
    loadAtRisk();
  }, 400);
}

function onEvent(type, e) {
  if (type === 'hello') {
    // a reconnection: what happened while the stream was down is replayed, but reload anyway
    if (connectedBefore) refreshAll();
    connectedBefore = true;
    return;
  }
  if (type === 'gap') {
    refreshAll();
    return;
  }
  addToFeed(e);
  refreshListsSoon();
  window.Pictures?.onEvent(type, e);
  const d = e.data || {};
  const mine = currentOrder && ((type === 'order' && d.id === currentOrder) || (type === 'do' && d.orderId === currentOrder) || type === 'allocation');
  if (mine) {
    refreshOrder();
    // the order's own status is rolled up just after its DO moves: look again shortly
    setTimeout(refreshOrder, 1000);
  }
}

function setLive(on) {
  const el = $('#live');
  el.textContent = on ? 'live' : 'offline';
  el.className = `live ${on ? 'on' : 'off'}`;
}

async function connect() {
  if (!token) return;
  const ctrl = new AbortController();
  stream = ctrl;
  try {
    const headers = { authorization: `Bearer ${token}`, accept: 'text/event-stream' };
    if (lastEventId) headers['last-event-id'] = lastEventId;
    const res = await fetch('/api/v1/events', { headers, signal: ctrl.signal, cache: 'no-store' });
    if (res.status === 401) return signOut('The planner token was refused. Sign in again.');
    if (!res.ok || !res.body) throw new Error(`event stream: HTTP ${res.status}`);
    setLive(true);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value.replace(/\r\n?/g, '\n');
      let cut;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        frame(buf.slice(0, cut));
        buf = buf.slice(cut + 2);
      }
    }
  } catch (err) {
    if (ctrl.signal.aborted) return;
    console.warn(err);
  }
  if (stream !== ctrl) return;
  setLive(false);
  timers.push(setTimeout(connect, 1500 + Math.random() * 1500));
}

function frame(text) {
  let type = 'message';
  let data = '';
  for (const line of text.split('\n')) {
    if (!line || line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
    if (field === 'event') type = value;
    else if (field === 'data') data += (data ? '\n' : '') + value;
    else if (field === 'id') lastEventId = value;
  }
  let parsed = null;
  try {
    parsed = data ? JSON.parse(data) : null;
  } catch {
    return;
  }
  onEvent(type, parsed);
}

// ------------------------------------------------------------------ sign in, start, stop

function refreshAll() {
  loadOrders();
  loadAtRisk();
  loadNodes();
  if (currentOrder) refreshOrder();
  window.Pictures?.refresh();
}

function start() {
  $('#signin').hidden = true;
  $('#board').hidden = false;
  $('#signout').hidden = false;
  refreshAll();
  timers.push(setInterval(loadNodes, 10_000), setInterval(loadOrders, 60_000), ...(window.Pictures?.timers() ?? []));
  connectedBefore = false;
  connect();
}

function stop() {
  stream?.abort();
  stream = null;
  for (const t of timers) {
    clearTimeout(t);
    clearInterval(t);
  }
  timers = [];
  setLive(false);
}

function signOut(message) {
  stop();
  token = null;
  localStorage.removeItem(TOKEN_KEY);
  $('#board').hidden = true;
  $('#signout').hidden = true;
  $('#signin').hidden = false;
  $('#signin-error').textContent = message || '';
  $('#token').value = '';
  $('#token').focus();
}

document.addEventListener('DOMContentLoaded', () => {
  $('#signin-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const candidate = $('#token').value.trim();
    if (!candidate) return;
    $('#signin-error').textContent = '';
    const res = await fetch('/api/v1/nodes', { headers: { authorization: `Bearer ${candidate}` } }).catch(() => null);
    if (!res || res.status === 401) {
      $('#signin-error').textContent = res ? 'That token was refused.' : 'The hub cannot be reached.';
      return;
    }
    token = candidate;
    localStorage.setItem(TOKEN_KEY, token);
    start();
  });
  $('#signout').addEventListener('click', () => signOut());
  $('#lookup-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    lookup($('#order-id').value);
  });
  $('#sku-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const sku = $('#sku').value.trim();
    if (sku) searchSku(sku);
  });
  if (token) start();
  else signOut();
});
