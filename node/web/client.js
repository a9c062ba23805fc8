// The associate page's script. It runs in the browser, not in Node: page.ts inlines it into the
// page (no build step, no dependencies) and allows it by hash in the page's Content-Security-Policy.
// Every value put into HTML goes through the `html` template tag, which escapes by default.
(() => {
  'use strict';

  const TOKEN_KEY = 'dom.associateToken';
  const PICK_KEY = 'dom.pick.';
  const SYNC_EVERY = 2500;
  const TASKS_EVERY = 4000;
  const LISTS_EVERY = 10000;
  const FLASH_OK_MS = 6000;
  const SHORT_REASONS = ['Not on shelf', 'Damaged', 'Not enough stock', 'Wrong item in location', 'Other'];
  const CARRIERS = ['UPS', 'FedEx', 'USPS', 'DHL', 'Local courier'];
  const STATUS = {
    released: 'New',
    acknowledged: 'Acknowledged',
    picked: 'Picked',
    short_picked: 'Short picked',
    packed: 'Packed',
    shipped: 'Shipped',
    ready_for_pickup: 'Ready for pickup',
    picked_up: 'Picked up',
    rejected: 'Rejected',
    cancelled: 'Cancelled',
  };
  const DONE = new Set(['shipped', 'picked_up', 'rejected', 'cancelled']);

  // ------------------------------------------------------------------ escaping

  class Raw {
    constructor(s) {
      this.s = s;
    }
    toString() {
      return this.s;
    }
  }
  const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };
  const esc = (s) => String(s).replace(/[&<>"'`]/g, (c) => ESC[c]);
  const part = (v) => (v instanceof Raw ? v.s : Array.isArray(v) ? v.map(part).join('') : v === null || v === undefined || v === false ? '' : esc(v));
  /** Template tag: interpolated values are escaped unless they are themselves `html` results. */
  function html(strings, ...vals) {
    let out = strings[0];
    for (let i = 0; i < vals.length; i++) out += part(vals[i]) + strings[i + 1];
    return new Raw(out);
  }

  // ------------------------------------------------------------------ state

  const S = {
    token: localStorage.getItem(TOKEN_KEY) || '',
    loginError: '',
    route: { view: 'tasks', id: '' },
    tasks: null,
    task: null,
    taskGone: false,
    inbound: null,
    inventory: null,
    sync: null,
    reachable: true,
    form: {},
    scanMsg: null,
    hitLine: null,
    busy: false,
  };
  const $ = (sel) => document.querySelector(sel);
  const app = $('#app');

  function loadPicks(doId) {
    try {
      return JSON.parse(localStorage.getItem(PICK_KEY + doId) || '{}') || {};
    } catch {
      return {};
    }
  }
  function savePicks(doId, counts) {
    try {
      localStorage.setItem(PICK_KEY + doId, JSON.stringify(counts));
    } catch {
      /* storage full: counts stay in memory */
    }
  }
  function clearPicks(doId) {
    localStorage.removeItem(PICK_KEY + doId);
  }
  let picks = {};

  // ------------------------------------------------------------------ API

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function call(method, path, body) {
    let res;
    try {
      res = await fetch('/api/v1' + path, {
        method,
        cache: 'no-store',
        headers: { authorization: 'Bearer ' + S.token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      setReachable(false);
      throw new ApiError(0, 'network', 'Cannot reach this node. Check the device’s network and try again.');
    }
    setReachable(true);
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    if (res.status === 401) {
      signOut('The token was not accepted. Sign in again.');
      throw new ApiError(401, 'unauthorized', 'signed out');
    }
    if (!res.ok) {
      const e = (data && data.error) || {};
      let msg = e.message || `The node answered ${res.status}.`;
      if (res.status === 409 && e.details && Array.isArray(e.details.allowed)) {
        msg += e.details.allowed.length ? ` Allowed now: ${e.details.allowed.map(stepLabel).join(', ')}.` : ' No step is allowed now.';
      }
      throw new ApiError(res.status, e.code || 'http_' + res.status, msg);
    }
    return data;
  }

  // ------------------------------------------------------------------ flash messages

  let flashTimer = 0;
  function flash(kind, text) {
    const el = $('#flash');
    clearTimeout(flashTimer);
    if (!text) {
      el.hidden = true;
      el.innerHTML = '';
      return;
    }
    el.className = 'flash ' + kind;
    el.innerHTML = html`<span class="msg">${text}</span><button type="button" class="x" data-act="dismiss" aria-label="Dismiss">×</button>`.s;
    el.hidden = false;
    if (kind === 'ok') flashTimer = setTimeout(() => flash('', ''), FLASH_OK_MS);
  }
  function fail(err) {
    if (err && err.status === 401) return; // already back at the login screen
    flash('error', (err && err.message) || String(err));
    if (navigator.vibrate) navigator.vibrate([80, 60, 80]);
  }

  // ------------------------------------------------------------------ formatting

  const stepLabel = (s) =>
    ({ ack: 'acknowledge', pick: 'pick', pack: 'pack', ship: 'ship', ready: 'ready for pickup', pickedup: 'picked up', reject: 'reject' })[s] || s;
  const plural = (n, one, many) => `${n} ${n === 1 ? one : many || one + 's'}`;
  function when(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    const today = new Date();
    const sameDay = d.toDateString() === today.toDateString();
    const t = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    return sameDay ? `today ${t}` : `${d.toLocaleDateString([], { weekday: 'short', month: 'short', day: 'numeric' })} ${t}`;
  }
  function ago(iso) {
    const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    if (!isFinite(s)) return '';
    if (s < 5) return 'just now';
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }
  const units = (t) => t.lines.reduce((n, l) => n + l.qty, 0);
  const kindChip = (t) =>
    html`<span class="chip ${t.kind}"
      >${t.kind === 'ship' ? 'Ship' : t.kind === 'pickup' ? 'Pickup' : 'Transfer'}${t.toFacility && t.kind === 'transfer' ? ' → ' + t.toFacility : ''}</span
    >`;
  const statusChip = (s) => html`<span class="chip ${s === 'cancelled' || s === 'rejected' ? 'bad' : DONE.has(s) ? 'ok' : ''}">${STATUS[s] || s}</span>`;
  function dueChip(t) {
    if (!t.promiseDate) return '';
    const late = new Date(t.promiseDate).getTime() < Date.now() && !DONE.has(t.status);
    return html`<span class="chip ${late ? 'bad' : ''}">${late ? 'Overdue · ' : 'Due '}${when(t.promiseDate)}</span>`;
  }

  // ------------------------------------------------------------------ routing

  function parseRoute() {
    const h = location.hash.replace(/^#\/?/, '');
    const [view, ...rest] = h.split('/');
    if (view === 'task' && rest.length) return { view: 'task', id: decodeURIComponent(rest.join('/')) };
    if (view === 'receive' || view === 'stock') return { view, id: '' };
    return { view: 'tasks', id: '' };
  }
  function go(hash) {
    if (location.hash === hash) onRoute();
    else location.hash = hash;
  }
  function onRoute() {
    const r = parseRoute();
    const changed = r.view !== S.route.view || r.id !== S.route.id;
    S.route = r;
    if (changed) {
      S.scanMsg = null;
      S.hitLine = null;
      if ($('#flash').classList.contains('error')) flash('', ''); // an error belongs to the screen it came from
    }
    if (r.view === 'task') {
      if (changed || !S.task || S.task.doId !== r.id) {
        S.task = (S.tasks || []).find((t) => t.doId === r.id) || null;
        S.taskGone = false;
        picks = loadPicks(r.id);
      }
    }
    render();
    if (S.token) refreshView().catch(() => undefined);
    if (changed) window.scrollTo(0, 0);
  }

  // ------------------------------------------------------------------ sign in / out

  function signOut(message) {
    S.token = '';
    localStorage.removeItem(TOKEN_KEY);
    S.loginError = message || '';
    S.tasks = S.task = S.inbound = S.inventory = S.sync = null;
    S.form = {};
    flash('', '');
    render();
  }

  async function signIn(token) {
    S.token = token.trim();
    S.loginError = '';
    if (!S.token) {
      S.loginError = 'Enter your associate token.';
      render();
      return;
    }
    S.busy = true;
    render();
    try {
      S.tasks = await call('GET', '/tasks');
      localStorage.setItem(TOKEN_KEY, S.token);
      S.form = {};
      S.busy = false;
      go('#/tasks');
      pollSync();
    } catch (err) {
      S.busy = false;
      if (err.status !== 401) {
        S.loginError = err.message;
        S.token = '';
      }
      render();
    }
  }

  // ------------------------------------------------------------------ views

  const val = (k, dflt = '') => (k in S.form ? S.form[k] : dflt);
  const dis = () => (S.busy ? html` disabled` : '');

  function loginView() {
    return html`<form class="card login stack" data-form="login" autocomplete="off">
      <h1>Sign in</h1>
      <p class="muted small">Store associate page for <b>${document.body.dataset.facility}</b>.</p>
      <div class="field">
        <label for="token">Associate token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" autocapitalize="off" spellcheck="false" required autofocus />
      </div>
      ${S.loginError ? html`<p class="need" role="alert">${S.loginError}</p>` : ''}
      <button class="pri wide" type="submit" ${dis()}>Sign in</button>
    </form>`;
  }

  function tasksView() {
    if (!S.tasks) return html`<p class="muted center">Loading tasks…</p>`;
    const head = html`<div class="row between">
      <h1>Tasks</h1>
      <span class="muted small">${plural(S.tasks.length, 'open task')}</span>
    </div>`;
    if (!S.tasks.length)
      return html`${head}
        <div class="empty">No open tasks.<br /><span class="small">New orders appear here by themselves.</span></div>`;
    return html`${head}
      <div class="section-title">Oldest promise first</div>
      ${S.tasks.map(
        (t) =>
          html` <a class="card task${t.atRisk ? ' risk' : ''}" href="#/task/${encodeURIComponent(t.doId)}" data-do="${t.doId}">
            <div class="row between"><span class="order">${t.orderId}</span>${kindChip(t)}</div>
            <div class="muted small">${plural(t.lines.length, 'line')} · ${plural(units(t), 'unit')}${t.customerName ? ' · ' + t.customerName : ''}</div>
            <div class="chips">${statusChip(t.status)}${dueChip(t)}${t.atRisk ? html`<span class="chip bad">At risk</span>` : ''}</div>
          </a>`,
      )}`;
  }

  function pickLineHtml(t, l) {
    const n = picks[l.line] || 0;
    const short = n < l.qty;
    const reasonKey = `reason:${l.line}`;
    return html`<div class="card line${n >= l.qty ? ' done' : n > 0 ? ' short' : ''}${S.hitLine === l.line ? ' hit' : ''}" data-line="${l.line}">
      <div class="row between"><span class="name">${l.name || l.sku}</span><span class="muted small">Line ${l.line}</span></div>
      <div class="muted small mono">
        SKU ${l.sku}${l.barcode ? ' · ' + l.barcode : ''}${l.orderedSku && l.orderedSku !== l.sku ? html` · <b>substitute for ${l.orderedSku}</b>` : ''}
      </div>
      <div class="counter">
        <button type="button" class="step" data-act="dec" data-line="${l.line}" aria-label="One less of line ${l.line}" ${dis()}>−</button>
        <input type="number" inputmode="numeric" min="0" max="${l.qty}" value="${n}" data-count="${l.line}" aria-label="Picked quantity, line ${l.line}" />
        <button type="button" class="step" data-act="inc" data-line="${l.line}" aria-label="One more of line ${l.line}" ${dis()}>+</button>
        <span class="of">/ ${l.qty}</span>
        ${n < l.qty ? html`<button type="button" class="all" data-act="all" data-line="${l.line}" ${dis()}>All ${l.qty}</button>` : html`<span class="chip ok all">✓ Complete</span>`}
      </div>
      ${
        short
          ? html`<div class="field">
              <label for="r${l.line}">Short by ${l.qty - n}: reason</label>
              <select id="r${l.line}" data-f="${reasonKey}" data-live="1">
                <option value="">Choose a reason…</option>
                ${SHORT_REASONS.map((r) => html`<option${val(reasonKey) === r ? html` selected` : ''}>${r}</option>`)}
              </select>
            </div>`
          : ''
      }
    </div>`;
  }

  function taskView() {
    const t = S.task;
    if (S.taskGone)
      return html`<p><a href="#/tasks">‹ Tasks</a></p>
        <div class="empty">This task is no longer at this facility.</div>`;
    if (!t)
      return html`<p><a href="#/tasks">‹ Tasks</a></p>
        <p class="muted center">Loading…</p>`;
    const can = new Set(t.allowed);
    const parts = [];
    parts.push(
      html`<p class="row between back"><a href="#/tasks">‹ Tasks</a><span class="muted small mono">${t.doId}</span></p>
        <div class="card">
          <div class="row between">
            <h1 class="order">${t.orderId}</h1>
            ${kindChip(t)}
          </div>
          <div class="chips">${statusChip(t.status)}${dueChip(t)}${t.atRisk ? html`<span class="chip bad">At risk: stock was sold</span>` : ''}</div>
          ${t.customerName ? html`<div class="small">Customer: <b>${t.customerName}</b></div>` : ''}
        </div>`,
    );
    if (t.status === 'cancelled') parts.push(html`<div class="card flash error">Cancelled by the hub. Put any picked items back.</div>`);

    if (can.has('ack') && t.status === 'released') {
      parts.push(html`<button type="button" class="wide" data-act="step" data-step="ack" ${dis()}>Acknowledge</button>`);
    }
    if (can.has('pick')) {
      const got = t.lines.reduce((s, l) => s + Math.min(picks[l.line] || 0, l.qty), 0);
      const need = units(t);
      parts.push(
        html`<form class="card" data-form="scan" autocomplete="off">
            <label for="scan">Scan barcode or SKU</label>
            <input
              id="scan"
              class="scan"
              data-f="scan"
              value="${val('scan')}"
              placeholder="Scan or type, then Enter"
              autocapitalize="off"
              autocorrect="off"
              spellcheck="false"
              enterkeyhint="enter"
              autofocus
            />
            <div class="scanmsg ${S.scanMsg ? S.scanMsg.kind : ''}" role="status" aria-live="assertive" data-scanmsg>${S.scanMsg ? S.scanMsg.text : ''}</div>
          </form>
          ${t.lines.map((l) => pickLineHtml(t, l))}
          <button type="button" class="${got === need ? 'ok' : 'pri'} wide" data-act="confirmPick" ${dis()}>
            ${got === need ? `Confirm pick (${got}/${need})` : `Confirm short pick (${got}/${need})`}
          </button>`,
      );
    } else {
      parts.push(
        html`<div class="section-title">Lines</div>
          ${t.lines.map(
            (l) =>
              html`<div class="card line${l.picked !== undefined && l.picked >= l.qty ? ' done' : l.picked !== undefined ? ' short' : ''}">
                <div class="row between">
                  <span class="name">${l.name || l.sku}</span><span class="of">${l.picked !== undefined ? `${l.picked} / ${l.qty}` : `× ${l.qty}`}</span>
                </div>
                <div class="muted small mono">SKU ${l.sku}${l.barcode ? ' · ' + l.barcode : ''}</div>
              </div>`,
          )}`,
      );
    }
    if (can.has('pack')) parts.push(html`<button type="button" class="pri wide" data-act="step" data-step="pack" ${dis()}>Pack</button>`);
    if (can.has('ship')) {
      parts.push(
        html`<form class="card stack" data-form="ship" autocomplete="off">
          <h2>Ship</h2>
          <div class="grid2">
            <div>
              <label for="carrier">Carrier</label><input id="carrier" data-f="carrier" list="carriers" value="${val('carrier')}" required maxlength="100" />
            </div>
            <div>
              <label for="tracking">Tracking number</label
              ><input id="tracking" data-f="tracking" value="${val('tracking')}" required maxlength="100" autocapitalize="characters" spellcheck="false" />
            </div>
          </div>
          <datalist id="carriers">${CARRIERS.map((c) => html`<option value="${c}"></option>`)}</datalist>
          <button type="submit" class="ok wide" ${dis()}>Ship</button>
        </form>`,
      );
    }
    if (can.has('ready')) parts.push(html`<button type="button" class="pri wide" data-act="step" data-step="ready" ${dis()}>Ready for pickup</button>`);
    if (can.has('pickedup')) {
      parts.push(
        html`<form class="card stack" data-form="pickedup" autocomplete="off">
          <h2>Hand over</h2>
          <div>
            <label for="customer">Customer’s name, as on their ID</label
            ><input id="customer" data-f="customerName" value="${val('customerName')}" required maxlength="200" autocomplete="off" />
          </div>
          <button type="submit" class="ok wide" ${dis()}>Picked up</button>
        </form>`,
      );
    }
    if (can.has('reject')) {
      parts.push(
        html`<details class="card" ${S.form.rejectOpen ? html` open` : ''} data-details="rejectOpen">
          <summary>Can’t fulfil this? Reject…</summary>
          <form class="stack" data-form="reject" autocomplete="off">
            <div>
              <label for="rejectReason">Reason</label
              ><input id="rejectReason" data-f="rejectReason" value="${val('rejectReason')}" required maxlength="500" placeholder="e.g. damaged in store" />
            </div>
            <button type="submit" class="danger wide" ${dis()}>Reject task</button>
          </form>
        </details>`,
      );
    }
    if (DONE.has(t.status)) parts.push(html`<a class="card center" href="#/tasks">Back to tasks</a>`);
    return html`${parts}`;
  }

  function receiveView() {
    if (!S.inbound) return html`<p class="muted center">Loading expected receipts…</p>`;
    const head = html`<h1>Receiving</h1>`;
    if (!S.inbound.length)
      return html`${head}
        <div class="empty">Nothing expected at this facility.</div>`;
    const list = [...S.inbound].sort((a, b) => String(a.expectedAt).localeCompare(String(b.expectedAt)));
    return html`${head}
      <div class="section-title">Expected</div>
      ${list.map(
        (i) =>
          html` <form class="card stack" data-form="receive" data-inbound="${i.inboundId}" autocomplete="off">
            <div class="row between">
              <span class="order">${i.inboundId}</span
              ><span class="chip">${i.kind === 'po' ? 'Purchase order' : i.kind === 'transfer' ? 'Transfer' : i.kind || 'Inbound'}</span>
            </div>
            <div class="muted small">${i.from ? `From ${i.from} · ` : i.supplier ? `From ${i.supplier} · ` : ''}expected ${when(i.expectedAt)}</div>
            ${i.lines.map(
              (l, n) =>
                html`<div class="row">
                  <div class="grow"><b class="mono">${l.sku}</b> <span class="muted small">expected ${l.qty}</span></div>
                  <input
                    class="qty"
                    type="number"
                    inputmode="numeric"
                    min="0"
                    data-f="rcv:${i.inboundId}:${n}"
                    value="${val(`rcv:${i.inboundId}:${n}`, String(l.qty))}"
                    aria-label="Received quantity of ${l.sku} on ${i.inboundId}"
                  />
                </div>`,
            )}
            <button type="submit" class="pri wide" ${dis()}>Receive ${i.inboundId}</button>
          </form>`,
      )}`;
  }

  function stockView() {
    const skus = (S.inventory || []).map((p) => p.sku);
    const filter = String(val('stockFilter')).trim().toLowerCase();
    const rows = (S.inventory || []).filter((p) => !filter || p.sku.toLowerCase().includes(filter) || (p.name || '').toLowerCase().includes(filter));
    return html`<h1>Stock</h1>
      <form class="card" data-form="sale" autocomplete="off">
        <h2>Walk-in sale</h2>
        <div class="grid3">
          <div>
            <label for="saleSku">SKU</label
            ><input id="saleSku" data-f="saleSku" list="skus" value="${val('saleSku')}" required autocapitalize="characters" spellcheck="false" />
          </div>
          <div>
            <label for="saleQty">Qty</label
            ><input id="saleQty" data-f="saleQty" type="number" inputmode="numeric" min="1" value="${val('saleQty', '1')}" required />
          </div>
          <button type="submit" class="pri" ${dis()}>Sell</button>
        </div>
      </form>
      <form class="card" data-form="adjust" autocomplete="off">
        <h2>Count adjustment</h2>
        <div class="grid2">
          <div>
            <label for="adjSku">SKU</label
            ><input id="adjSku" data-f="adjSku" list="skus" value="${val('adjSku')}" required autocapitalize="characters" spellcheck="false" />
          </div>
          <div>
            <label for="adjOnHand">Counted on hand</label
            ><input id="adjOnHand" data-f="adjOnHand" type="number" inputmode="numeric" min="0" value="${val('adjOnHand')}" required />
          </div>
        </div>
        <div class="field">
          <label for="adjReason">Reason</label
          ><input id="adjReason" data-f="adjReason" list="adjReasons" value="${val('adjReason')}" required maxlength="200" />
        </div>
        <datalist id="adjReasons">
          <option value="Cycle count"></option>
          <option value="Damaged"></option>
          <option value="Found stock"></option>
          <option value="Theft / loss"></option>
        </datalist>
        <button type="submit" class="pri wide" ${dis()}>Save count</button>
      </form>
      <datalist id="skus">${skus.map((s) => html`<option value="${s}"></option>`)}</datalist>
      <div class="row between section-title"><span>On hand</span><span>${S.inventory ? plural(S.inventory.length, 'SKU') : ''}</span></div>
      <div class="field">
        <input type="search" data-f="stockFilter" value="${val('stockFilter')}" placeholder="Filter SKUs" aria-label="Filter SKUs" data-live="1" />
      </div>
      ${
        !S.inventory
          ? html`<p class="muted center">Loading…</p>`
          : !rows.length
            ? html`<div class="empty">No stock positions${filter ? ' match' : ' yet'}.</div>`
            : html` <table>
                <thead>
                  <tr>
                    <th>SKU</th>
                    <th>On hand</th>
                    <th>Held</th>
                    <th>Safety</th>
                    <th>Avail.</th>
                  </tr>
                </thead>
                <tbody>
                  ${rows.map(
                    (p) =>
                      html`<tr data-act="pickSku" data-sku="${p.sku}">
                        <td><span class="mono">${p.sku}</span>${p.name ? html`<br /><span class="small muted">${p.name}</span>` : ''}</td>
                        <td>${p.onHand}</td>
                        <td>${p.reserved}</td>
                        <td>${p.safetyStock}</td>
                        <td class="${p.available <= 0 ? 'zero' : ''}">${p.available}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
      }`;
  }

  // ------------------------------------------------------------------ rendering

  let lastHtml = '';
  function viewHtml() {
    if (!S.token) return loginView().s;
    switch (S.route.view) {
      case 'task':
        return taskView().s;
      case 'receive':
        return receiveView().s;
      case 'stock':
        return stockView().s;
      default:
        return tasksView().s;
    }
  }

  /** Redraw the view when it changed, keeping the focused field, its caret and the scroll position. */
  function render() {
    const signedIn = !!S.token;
    $('#tabs').hidden = !signedIn;
    $('#signOut').hidden = !signedIn;
    document
      .querySelectorAll('#tabs a')
      .forEach((a) => a.classList.toggle('active', signedIn && (a.dataset.tab === S.route.view || (a.dataset.tab === 'tasks' && S.route.view === 'task'))));
    $('#taskCount').textContent = signedIn && S.tasks && S.tasks.length ? String(S.tasks.length) : '';
    renderSync();
    const next = viewHtml();
    if (next === lastHtml) return;
    const active = document.activeElement;
    const key =
      active && app.contains(active)
        ? active.id
          ? '#' + active.id
          : active.dataset.f
            ? `[data-f="${CSS.escape(active.dataset.f)}"]`
            : active.dataset.count
              ? `[data-count="${CSS.escape(active.dataset.count)}"]`
              : ''
        : '';
    let sel = null;
    try {
      sel = key && active.selectionStart !== undefined ? [active.selectionStart, active.selectionEnd] : null;
    } catch {
      sel = null;
    }
    const scrollY = window.scrollY;
    app.innerHTML = next;
    lastHtml = next;
    const again = key ? app.querySelector(key) : null;
    if (again) {
      again.focus({ preventScroll: true });
      if (sel && sel[0] !== null)
        try {
          again.setSelectionRange(sel[0], sel[1]);
        } catch {
          /* not a text field */
        }
    } else if (!app.contains(document.activeElement)) {
      const auto = app.querySelector('[autofocus]');
      if (auto && !matchMedia('(pointer: coarse)').matches) auto.focus({ preventScroll: true });
      else if (auto && auto.id === 'scan') auto.focus({ preventScroll: true });
    }
    window.scrollTo(0, scrollY);
  }
  /**
   * Apply a change the DOM already shows (a typed value, an opened <details>) without redrawing
   * under the user's fingers: when the page was in step with the state before the change, record
   * the new markup as drawn; otherwise draw it.
   */
  function asTyped(update) {
    const inStep = viewHtml() === lastHtml;
    update();
    if (inStep) lastHtml = viewHtml();
    else render();
  }

  function renderSync() {
    const pill = $('#syncPill');
    const banner = $('#banner');
    const s = S.sync;
    if (!S.token) {
      pill.hidden = true;
      banner.hidden = true;
      return;
    }
    pill.hidden = false;
    if (!S.reachable) {
      pill.className = 'pill off';
      pill.textContent = 'No connection';
      banner.className = 'banner bad';
      banner.hidden = false;
      banner.textContent = 'Cannot reach this node. Changes on this screen will not be saved until it is back.';
      return;
    }
    if (!s) {
      pill.className = 'pill';
      pill.textContent = 'Checking sync…';
      banner.hidden = true;
      return;
    }
    if (!s.online) {
      pill.className = 'pill off';
      pill.textContent = 'Offline';
      banner.className = 'banner';
      banner.hidden = false;
      banner.innerHTML = html`Offline — ${plural(s.pending, 'change')} waiting to sync<span class="small"
          >Keep working: this store saves everything and sends it when the hub is back.${s.lastSyncAt ? ` Last sync ${ago(s.lastSyncAt)}.` : ''}</span
        >`.s;
      return;
    }
    if (s.refused && s.refused.length) {
      // documents the hub refused stay here and are never uploaded: someone has to look at them
      const r = s.refused[0];
      banner.className = 'banner bad';
      banner.hidden = false;
      banner.innerHTML = html`The hub refused ${plural(s.refused.length, 'change')} from this store<span class="small"
          >Latest: ${r.id}: ${r.reason}. Everything else keeps syncing; tell your support desk.</span
        >`.s;
    } else banner.hidden = true;
    pill.className = 'pill on';
    pill.textContent = s.pending > 0 ? `Syncing · ${s.pending} waiting` : s.lastSyncAt ? `Synced ${ago(s.lastSyncAt)}` : 'Online';
    pill.title = s.lastSyncAt ? `Last sync ${new Date(s.lastSyncAt).toLocaleString()}` : '';
  }
  function setReachable(ok) {
    if (S.reachable === ok) return;
    S.reachable = ok;
    renderSync();
  }

  // ------------------------------------------------------------------ loading and polling

  // Every action bumps the epoch; a read that started before an action answers with what was true
  // before it, so its answer is dropped (the next poll or the action's own reload brings the news).
  let epoch = 0;
  async function loadTasks() {
    const e = epoch;
    const list = await call('GET', '/tasks');
    if (e !== epoch) return;
    S.tasks = list;
    if (S.route.view === 'task' && S.task) {
      const fresh = list.find((t) => t.doId === S.task.doId);
      if (fresh) S.task = fresh;
    }
  }
  async function loadTask(id) {
    const e = epoch;
    try {
      const t = await call('GET', '/dos/' + encodeURIComponent(id));
      if (e === epoch && S.route.view === 'task' && S.route.id === id) {
        S.task = t;
        S.taskGone = false;
      }
    } catch (err) {
      if (err.status === 404 && e === epoch && S.route.id === id) {
        S.task = null;
        S.taskGone = true;
        return;
      }
      throw err;
    }
  }
  async function refreshView() {
    if (!S.token) return;
    const r = S.route;
    const e = epoch;
    if (r.view === 'tasks') await loadTasks();
    else if (r.view === 'task') await Promise.all([loadTask(r.id), loadTasks()]);
    else if (r.view === 'receive') {
      const v = await call('GET', '/inbound');
      if (e === epoch) S.inbound = v;
    } else if (r.view === 'stock') {
      const v = await call('GET', '/inventory');
      if (e === epoch) S.inventory = v;
    }
    render();
  }

  let syncTimer = 0;
  async function pollSync() {
    clearTimeout(syncTimer);
    if (S.token && !document.hidden) {
      try {
        S.sync = await call('GET', '/sync');
      } catch {
        /* shown through setReachable or the login screen */
      }
      renderSync();
    }
    syncTimer = setTimeout(pollSync, SYNC_EVERY);
  }
  let viewTimer = 0;
  async function pollView() {
    clearTimeout(viewTimer);
    if (S.token && !document.hidden && !S.busy) {
      try {
        await refreshView();
      } catch {
        /* the next round tries again */
      }
    }
    const every = S.route.view === 'tasks' || S.route.view === 'task' ? TASKS_EVERY : LISTS_EVERY;
    viewTimer = setTimeout(pollView, every);
  }

  // ------------------------------------------------------------------ actions

  async function act(fn, okText) {
    if (S.busy) return;
    S.busy = true;
    epoch++;
    render();
    try {
      const r = await fn();
      if (okText) flash('ok', typeof okText === 'function' ? okText(r) : okText);
      return r;
    } catch (err) {
      fail(err);
      return undefined;
    } finally {
      epoch++;
      S.busy = false;
      render();
    }
  }

  async function doStep(step, body, okText) {
    const t = S.task;
    if (!t) return;
    const updated = await act(async () => {
      const u = await call('POST', `/dos/${encodeURIComponent(t.doId)}/${step}`, body);
      if (S.route.view === 'task' && S.route.id === t.doId) S.task = u;
      return u;
    }, okText);
    if (updated) {
      if (DONE.has(updated.status)) {
        clearPicks(t.doId);
        S.form = {};
        go('#/tasks');
      }
    } else {
      loadTask(t.doId).then(render, () => undefined);
    }
    loadTasks().then(render, () => undefined);
    return updated;
  }

  function setCount(line, n) {
    const t = S.task;
    const l = t && t.lines.find((x) => x.line === line);
    if (!l) return;
    picks[line] = Math.max(0, Math.min(l.qty, Math.floor(Number(n) || 0)));
    savePicks(t.doId, picks);
  }

  let hitTimer = 0;
  function scan(code) {
    const t = S.task;
    code = String(code || '').trim();
    S.form.scan = '';
    if (!code || !t) {
      render();
      return;
    }
    const lc = code.toLowerCase();
    const matches = t.lines.filter((l) => (l.barcode && l.barcode === code) || l.sku.toLowerCase() === lc);
    if (!matches.length) {
      S.scanMsg = { kind: 'error', text: `Unknown code “${code}”: not on this order.` };
      S.hitLine = null;
      if (navigator.vibrate) navigator.vibrate([80, 60, 80]);
    } else {
      const l = matches.find((x) => (picks[x.line] || 0) < x.qty);
      if (!l) {
        const m = matches[0];
        S.scanMsg = { kind: 'error', text: `Already have all ${m.qty} of ${m.name || m.sku}. Put that one back.` };
        S.hitLine = null;
        if (navigator.vibrate) navigator.vibrate([80, 60, 80]);
      } else {
        setCount(l.line, (picks[l.line] || 0) + 1);
        S.scanMsg = { kind: 'ok', text: `✓ ${l.name || l.sku}: ${picks[l.line]} of ${l.qty}` };
        S.hitLine = l.line;
        clearTimeout(hitTimer);
        hitTimer = setTimeout(() => {
          S.hitLine = null; // the next redraw drops the class; until then only the animation's end shows
          const el = app.querySelector('.line.hit');
          if (el) el.classList.remove('hit');
        }, 700);
      }
    }
    lastHtml = ''; // replay the highlight even when the counts look the same
    render();
    const f = $('#scan');
    if (f) f.focus({ preventScroll: true });
  }

  function confirmPick() {
    const t = S.task;
    if (!t) return;
    const lines = [];
    for (const l of t.lines) {
      const qty = picks[l.line] || 0;
      if (qty < l.qty) {
        const reason = val(`reason:${l.line}`);
        if (!reason) {
          flash('error', `Line ${l.line} (${l.name || l.sku}) is short by ${l.qty - qty}: choose a reason.`);
          const sel = $(`#r${l.line}`);
          if (sel) {
            sel.focus();
            sel.scrollIntoView({ block: 'center' });
          }
          return;
        }
        lines.push({ line: l.line, qty, reason });
      } else lines.push({ line: l.line, qty });
    }
    const got = lines.reduce((s, l) => s + l.qty, 0);
    doStep('pick', { lines }, got === units(t) ? `Picked all ${plural(got, 'unit')}.` : `Short pick recorded: ${got} of ${units(t)} units.`).then((r) => {
      if (r) {
        clearPicks(t.doId);
        picks = {};
        S.scanMsg = null;
        render();
      }
    });
  }

  const actions = {
    dismiss: () => flash('', ''),
    signout: () => signOut(''),
    inc: (el) => {
      const line = Number(el.dataset.line);
      setCount(line, (picks[line] || 0) + 1);
      render();
    },
    dec: (el) => {
      const line = Number(el.dataset.line);
      setCount(line, (picks[line] || 0) - 1);
      render();
    },
    all: (el) => {
      const line = Number(el.dataset.line);
      const l = S.task.lines.find((x) => x.line === line);
      setCount(line, l ? l.qty : 0);
      render();
    },
    confirmPick,
    step: (el) => {
      const step = el.dataset.step;
      const ok = { ack: 'Acknowledged.', pack: 'Packed. Add the label and ship.', ready: 'Ready for pickup: the customer is told.' }[step];
      doStep(step, {}, ok);
    },
    pickSku: (el) => {
      S.form.saleSku = el.dataset.sku;
      S.form.adjSku = el.dataset.sku;
      render();
      window.scrollTo({ top: 0, behavior: 'smooth' });
    },
  };

  const forms = {
    login: (f) => signIn(f.elements.token.value),
    scan: (f) => scan(f.querySelector('#scan') ? f.querySelector('#scan').value : val('scan')),
    ship: () => {
      const carrier = String(val('carrier')).trim();
      const tracking = String(val('tracking')).trim();
      if (!carrier || !tracking) return flash('error', 'Enter the carrier and the tracking number.');
      const id = S.task && S.task.orderId;
      doStep('ship', { carrier, tracking }, `Order ${id} shipped with ${carrier}, tracking ${tracking}.`);
    },
    pickedup: () => {
      const customerName = String(val('customerName')).trim();
      if (!customerName) return flash('error', 'Enter the customer’s name.');
      const id = S.task && S.task.orderId;
      doStep('pickedup', { customerName }, `Order ${id} handed to ${customerName}.`);
    },
    reject: () => {
      const reason = String(val('rejectReason')).trim();
      if (!reason) return flash('error', 'Give a reason for rejecting.');
      const id = S.task && S.task.orderId;
      doStep('reject', { reason }, `Task for ${id} rejected; the hub will send it elsewhere.`);
    },
    receive: async (f) => {
      const inboundId = f.dataset.inbound;
      const inb = (S.inbound || []).find((i) => i.inboundId === inboundId);
      if (!inb) return;
      const lines = [];
      for (let n = 0; n < inb.lines.length; n++) {
        const raw = String(val(`rcv:${inboundId}:${n}`, String(inb.lines[n].qty))).trim();
        const qty = Number(raw);
        if (raw === '' || !Number.isInteger(qty) || qty < 0) return flash('error', `${inb.lines[n].sku}: enter a whole number of units received.`);
        lines.push({ sku: inb.lines[n].sku, qty });
      }
      const r = await act(
        () => call('POST', '/receipts', { inboundId, lines }),
        (res) => {
          const total = lines.reduce((s, l) => s + l.qty, 0);
          const notes = [...(res.short || []).map((x) => `${x.sku} short ${x.qty}`), ...(res.over || []).map((x) => `${x.sku} over by ${x.qty}`)];
          return `Received ${plural(total, 'unit')} on ${inboundId}.${notes.length ? ' ' + notes.join(', ') + '.' : ''}`;
        },
      );
      if (r) {
        for (let n = 0; n < inb.lines.length; n++) delete S.form[`rcv:${inboundId}:${n}`];
        render();
        refreshView().catch(() => undefined);
      }
    },
    sale: async () => {
      const sku = String(val('saleSku')).trim();
      const qty = Number(val('saleQty', '1'));
      if (!sku) return flash('error', 'Enter the SKU sold.');
      if (!Number.isInteger(qty) || qty < 1) return flash('error', 'Quantity must be a whole number of 1 or more.');
      const r = await act(
        () => call('POST', '/sales', { sku, qty }),
        (res) =>
          `Sold ${qty} × ${sku}. Available now ${res.position ? res.position.available : '?'}.` +
          (res.atRisk && res.atRisk.length ? ` ${plural(res.atRisk.length, 'task')} now at risk: ${res.atRisk.join(', ')}.` : ''),
      );
      if (r) {
        if (r.oversold)
          flash(
            'error',
            `Sold ${qty} × ${sku}, but only ${r.oversold.onHandBefore} were on the books: the sale is recorded; please count ${sku} (Adjust stock).`,
          );
        else if (r.atRisk && r.atRisk.length)
          flash('error', `Sold ${qty} × ${sku}, but it was held for an order: ${plural(r.atRisk.length, 'task')} now at risk (${r.atRisk.join(', ')}).`);
        S.form.saleSku = '';
        S.form.saleQty = '1';
        render();
        refreshView().catch(() => undefined);
      }
    },
    adjust: async () => {
      const sku = String(val('adjSku')).trim();
      const raw = String(val('adjOnHand')).trim();
      const onHand = Number(raw);
      const reason = String(val('adjReason')).trim();
      if (!sku) return flash('error', 'Enter the SKU counted.');
      if (raw === '' || !Number.isInteger(onHand) || onHand < 0) return flash('error', 'Counted on hand must be a whole number, 0 or more.');
      if (!reason) return flash('error', 'Give a reason for the adjustment.');
      const r = await act(
        () => call('POST', '/adjustments', { sku, onHand, reason }),
        (p) => `${sku} on hand set to ${p.onHand} (available ${p.available}).`,
      );
      if (r) {
        S.form.adjSku = '';
        S.form.adjOnHand = '';
        S.form.adjReason = '';
        render();
        refreshView().catch(() => undefined);
      }
    },
  };

  // ------------------------------------------------------------------ events (delegated)

  document.addEventListener('click', (e) => {
    const el = e.target.closest('[data-act]');
    if (!el || el.disabled) return;
    const fn = actions[el.dataset.act];
    if (!fn) return;
    e.preventDefault();
    fn(el);
  });
  document.addEventListener('submit', (e) => {
    const f = e.target.closest('form[data-form]');
    e.preventDefault();
    if (!f) return;
    const fn = forms[f.dataset.form];
    if (fn && !S.busy) fn(f);
  });
  document.addEventListener('input', (e) => {
    const el = e.target;
    if (el.dataset.f) {
      if (el.dataset.live) {
        S.form[el.dataset.f] = el.value;
        render();
      } else
        asTyped(() => {
          S.form[el.dataset.f] = el.value;
        });
    } else if (el.dataset.count) {
      if (el.value === '') return; // the field is being retyped
      setCount(Number(el.dataset.count), el.value);
      if (String(picks[Number(el.dataset.count)]) !== el.value) el.value = String(picks[Number(el.dataset.count)]);
      render();
    }
  });
  document.addEventListener('change', (e) => {
    const el = e.target;
    if (el.dataset.count && el.value === '') {
      setCount(Number(el.dataset.count), 0);
      render();
    }
  });
  document.addEventListener(
    'toggle',
    (e) => {
      const el = e.target;
      if (el.dataset && el.dataset.details)
        asTyped(() => {
          S.form[el.dataset.details] = el.open;
        });
    },
    true,
  );
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && S.token) {
      pollSync();
      pollView();
    }
  });
  window.addEventListener('hashchange', onRoute);
  window.addEventListener('storage', (e) => {
    if (e.key === TOKEN_KEY && !e.newValue && S.token) signOut('Signed out in another tab.');
  });

  // ------------------------------------------------------------------ start

  S.route = parseRoute();
  if (S.route.view === 'task') picks = loadPicks(S.route.id);
  render();
  if (S.token) {
    pollSync();
  }
  pollView();
})();
