// The dashboard's pictures: the network on a map, an order's decision on a map, the last hours in
// charts, and the replenishment fair share. Plain browser code beside dashboard.js (whose h(), api(),
// guard(), label() and friends it uses), drawn with libraries the hub serves from its own
// node_modules: us-atlas + topojson-client for the states, d3-geo for the Albers USA projection,
// uPlot for the time series. Every picture has its table beside it (a text alternative).
'use strict';

window.Pictures = (() => {
  const SVG = 'http://www.w3.org/2000/svg';
  /** An SVG element; strings become text nodes, as with h(). */
  function s(tag, attrs, ...kids) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, String(v));
    }
    for (const k of kids.flat(Infinity)) if (k !== null && k !== undefined && k !== false) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    return e;
  }
  const fmt = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v) ? '—' : Number(v).toFixed(digits));
  const pct = (v) => (v === null || v === undefined ? '—' : `${Math.round(v * 100)}%`);

  async function post(path, body) {
    const res = await fetch(path, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      cache: 'no-store',
    });
    if (res.status === 401) throw new Unauthorized('the planner token was refused');
    const json = await res.json().catch(() => null);
    if (!res.ok) throw Object.assign(new Error(json?.error?.message || `HTTP ${res.status}`), { status: res.status });
    return json;
  }

  // ------------------------------------------------------------------ the atlas

  const W = 975;
  const H = 610;
  let atlas = null;
  /** The US states (us-atlas, unprojected) as GeoJSON: the land, and the borders between states. */
  function loadAtlas() {
    atlas ??= fetch('/web/vendor/us-states.json')
      .then((r) => r.json())
      .then((us) => ({
        land: topojson.feature(us, us.objects.nation),
        borders: topojson.mesh(us, us.objects.states, (a, b) => a !== b),
      }));
    return atlas;
  }
  const mainProjection = () =>
    d3
      .geoAlbersUsa()
      .scale(1300)
      .translate([W / 2, H / 2]);
  function basemap(projection) {
    return loadAtlas().then((a) => {
      const path = d3.geoPath(projection);
      return [s('path', { class: 'land', d: path(a.land) }), s('path', { class: 'borders', d: path(a.borders) })];
    });
  }

  // ------------------------------------------------------------------ the network map

  let network = null; // { day, facilities: [...] } from GET /api/v1/network
  let stock = null; // { sku, byFacility: Map(id → {onHand, available}) }
  let mode = 'load';
  let selected = null;
  let mainBase = null;

  const SYNC_TONE = { online: 'good', stale: 'warn', offline: 'bad', none: 'none' };
  const SYNC_TEXT = { online: 'online', stale: 'stale (no call for over a minute)', offline: 'offline (no call for 15 min, or never)', none: 'no node' };
  const loadBand = (f) => {
    if (!f.capacity) return { tone: 'none', text: 'no capacity' };
    const r = f.loadToday / f.capacity;
    return r >= 1
      ? { tone: 'bad', text: 'at or over capacity' }
      : r >= 0.8
        ? { tone: 'warn', text: '80–100% of capacity' }
        : r >= 0.5
          ? { tone: 'active', text: '50–80% of capacity' }
          : { tone: 'good', text: 'under 50% of capacity' };
  };
  const stockOf = (id) => stock?.byFacility.get(id) ?? { onHand: 0, available: 0 };

  function toneOf(f) {
    if (mode === 'sync') return SYNC_TONE[f.sync] ?? 'none';
    if (mode === 'stock') return stockOf(f.id).available > 0 ? 'active' : 'none';
    return loadBand(f).tone;
  }
  function radiusOf(f) {
    const base = f.type === 'dc' ? 7 : 5;
    if (mode !== 'stock' || !stock) return base;
    const max = Math.max(1, ...[...stock.byFacility.values()].map((x) => x.onHand));
    return 3 + 15 * Math.sqrt(stockOf(f.id).onHand / max);
  }

  const loadNetwork = guard(async () => {
    network = await api('/api/v1/network');
    await drawMap();
  });

  const loadStock = guard(async (sku) => {
    $('#map-error').textContent = '';
    try {
      const inv = await api(`/api/v1/inventory/${encodeURIComponent(sku)}`);
      stock = { sku: inv.sku, byFacility: new Map(inv.facilities.map((f) => [f.facility, { onHand: f.onHand, available: f.available }])) };
    } catch (err) {
      if (err instanceof Unauthorized) throw err;
      stock = null;
      $('#map-error').textContent = err.status === 404 ? `No item "${sku}".` : String(err.message);
    }
    await drawMap();
  });

  function cardLines(f) {
    const lines = [
      [f.name, `${f.id} · ${f.type === 'dc' ? 'DC' : 'store'}${f.enabled ? '' : ' · disabled'}`],
      ['Today', `${f.loadToday} of ${f.capacity} units (${f.capacity ? Math.round((100 * f.loadToday) / f.capacity) : '—'}%)`],
      ['Sync', `${SYNC_TEXT[f.sync] ?? f.sync}${f.lastSeen ? `, last seen ${ago(f.lastSeen)}` : ''}`],
    ];
    if (stock) lines.push([stock.sku, `${stockOf(f.id).onHand} on hand, ${stockOf(f.id).available} available`]);
    return lines;
  }

  function showCard(f, dot) {
    const card = $('#map-card');
    card.replaceChildren(
      ...cardLines(f).map(([k, v], i) => h('div', { class: i ? '' : 'title' }, i ? h('span', { class: 'muted' }, `${k}: `) : h('b', {}, k, ' '), v)),
    );
    card.hidden = false;
    const wrap = $('#map-wrap').getBoundingClientRect();
    const d = dot.getBoundingClientRect();
    const x = d.left + d.width / 2 - wrap.left;
    const y = d.top - wrap.top;
    // kept inside the map's box
    card.style.left = `${Math.max(0, Math.min(wrap.width - card.offsetWidth, x - card.offsetWidth / 2))}px`;
    card.style.top = `${y - card.offsetHeight - 8 < 0 ? y + d.height + 8 : y - card.offsetHeight - 8}px`;
  }
  const hideCard = () => ($('#map-card').hidden = true);

  const dotEls = new Map(); // facility id → its circle, kept across redraws (hover and focus stay put)
  const facility = (id) => network?.facilities.find((x) => x.id === id);

  function dotFor(id) {
    let dot = dotEls.get(id);
    if (dot) return dot;
    const show = (ev) => facility(id) && showCard(facility(id), ev.currentTarget);
    dot = s('circle', {
      'data-facility': id,
      tabindex: 0,
      role: 'button',
      onmouseenter: show,
      onfocus: show,
      onmouseleave: hideCard,
      onblur: hideCard,
      onclick: () => openFacility(id),
      onkeydown: (ev) => (ev.key === 'Enter' || ev.key === ' ') && (ev.preventDefault(), openFacility(id)),
    });
    dotEls.set(id, dot);
    return dot;
  }

  async function drawMap() {
    if (!network) return;
    const svg = $('#network-map');
    const projection = mainProjection();
    if (!mainBase) {
      mainBase = await basemap(projection);
      svg.replaceChildren(...mainBase, s('g', { class: 'dots' }));
    }
    const outside = [];
    const dots = [];
    for (const f of network.facilities) {
      const p = projection([f.lon, f.lat]);
      if (!p) {
        outside.push(f.id);
        continue;
      }
      const dot = dotFor(f.id);
      const attrs = {
        class: `fac ${toneOf(f)} ${f.type}${selected === f.id ? ' sel' : ''}`,
        cx: p[0].toFixed(1),
        cy: p[1].toFixed(1),
        r: radiusOf(f).toFixed(1),
        'aria-label': cardLines(f)
          .map(([k, v]) => `${k}: ${v}`)
          .join('; '),
      };
      for (const [k, v] of Object.entries(attrs)) if (dot.getAttribute(k) !== v) dot.setAttribute(k, v);
      dots.push(dot);
    }
    for (const [id, dot] of dotEls) if (!dots.includes(dot)) (dot.remove(), dotEls.delete(id));
    // big dots first, so that a small one is never hidden under a large one (moved only when the order changes)
    dots.sort((a, b) => Number(b.getAttribute('r')) - Number(a.getAttribute('r')));
    const layer = svg.querySelector('g.dots');
    if (dots.some((d, i) => layer.children[i] !== d)) layer.replaceChildren(...dots);
    const counts = {};
    for (const f of network.facilities) counts[f.type] = (counts[f.type] || 0) + 1;
    $('#map-summary').textContent =
      `${network.facilities.length} facilities (${counts.dc || 0} DCs, ${counts.store || 0} stores)${outside.length ? `; not on the map (outside the US): ${outside.join(', ')}` : ''}`;
    drawLegend();
    drawMapTable();
  }

  function drawLegend() {
    const item = (tone, text) => h('span', { class: 'key' }, h('span', { class: `swatch ${tone}` }), text);
    const items =
      mode === 'sync'
        ? Object.entries(SYNC_TONE).map(([k, tone]) => item(tone, SYNC_TEXT[k]))
        : mode === 'stock'
          ? [item('active', stock ? `holds ${stock.sku} (dot size: units on hand)` : 'type a SKU and press Show'), item('none', 'none available')]
          : [
              ['good', 'under 50%'],
              ['active', '50–80%'],
              ['warn', '80–100%'],
              ['bad', 'at or over capacity'],
            ].map(([t, x]) => item(t, x));
    $('#map-legend').replaceChildren(
      h(
        'span',
        { class: 'muted' },
        mode === 'load' ? `Units released today against daily capacity (${network.day}):` : mode === 'sync' ? 'Node sync health:' : 'Stock:',
      ),
      ...items,
      h('span', { class: 'muted' }, 'larger dots are DCs; hover for the card, click to open'),
    );
  }

  function drawMapTable() {
    const heads = [
      'Facility',
      'Name',
      'Type',
      'Today (units)',
      'Capacity',
      'Load',
      'Sync',
      'Last seen',
      ...(stock ? [`${stock.sku} on hand`, 'available'] : []),
    ];
    $('#map-table thead').replaceChildren(
      h(
        'tr',
        {},
        heads.map((t, i) => h('th', { class: [3, 4, 5, 8, 9].includes(i) ? 'num' : '' }, t)),
      ),
    );
    $('#map-table tbody').replaceChildren(
      ...network.facilities.map((f) =>
        h(
          'tr',
          { 'data-facility': f.id },
          h('td', {}, h('button', { type: 'button', class: 'linklike', onclick: () => openFacility(f.id) }, f.id)),
          h('td', {}, f.name),
          h('td', {}, f.type),
          num(f.loadToday),
          num(f.capacity),
          num(f.capacity ? `${Math.round((100 * f.loadToday) / f.capacity)}%` : '—'),
          h('td', {}, f.sync),
          h('td', {}, ago(f.lastSeen)),
          stock ? [num(stockOf(f.id).onHand), num(stockOf(f.id).available)] : null,
        ),
      ),
    );
  }

  /** The facility's card, opened: what the map shows, and its open DOs. */
  const openFacility = guard(async (id) => {
    selected = id;
    const f = facility(id);
    if (!f) return;
    drawMap();
    const view = $('#facility-view');
    view.replaceChildren(
      h(
        'div',
        { class: 'card-head sub' },
        h('h3', { id: 'facility-title' }, `${f.name} (${f.id})`),
        h(
          'button',
          {
            type: 'button',
            class: 'ghost dark',
            onclick: () => {
              selected = null;
              view.replaceChildren();
              drawMap();
            },
          },
          'Close',
        ),
      ),
      h(
        'div',
        { class: 'facts' },
        cardLines(f)
          .slice(1)
          .map(([k, v]) => h('span', {}, `${k} `, h('b', {}, v))),
        h('span', {}, 'ships from store ', h('b', {}, f.shipFromStore ? 'yes' : 'no')),
        h('span', {}, 'pickup ', h('b', {}, f.pickup ? 'yes' : 'no')),
      ),
    );
    const dos = await api(`/api/v1/dos?facility=${encodeURIComponent(id)}&limit=50`);
    const open = dos.filter((d) => !['shipped', 'picked_up', 'rejected', 'cancelled'].includes(d.state));
    if (selected !== id) return;
    view.append(
      h(
        'div',
        { class: 'scroll short' },
        h(
          'table',
          { id: 'facility-dos' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Open DO'), h('th', {}, 'Order'), h('th', {}, 'State'), h('th', {}, 'Lines'))),
          h(
            'tbody',
            {},
            open.length
              ? open.map((d) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, d.doId),
                    h('td', {}, orderLink(d.orderId)),
                    h('td', {}, badge(d.state)),
                    h('td', {}, d.lines.map((l) => `${l.qty} × ${l.sku}`).join(', ')),
                  ),
                )
              : empty(4, 'No open DO.'),
          ),
        ),
      ),
    );
  });

  // ------------------------------------------------------------------ an order's decision on a map

  /** A map of where the order goes and where it was filled from, filled in once the network is known. */
  function decision(o) {
    const box = h('div', { class: 'decision', id: 'decision' });
    const attempts = (o.explanations || []).filter((x) => x && (x.candidates || x.handover));
    if (!attempts.length) return null;
    drawDecision(box, o, attempts);
    return box;
  }

  const drawDecision = guard(async (box, o, attempts) => {
    if (!network) network = await api('/api/v1/network');
    const byId = new Map(network.facilities.map((f) => [f.id, f]));
    const pickupAt = o.delivery === 'pickup' ? byId.get(o.pickupFacility) : null;
    const dest = pickupAt ? { lat: pickupAt.lat, lon: pickupAt.lon } : o.shipTo;
    if (!dest) return;
    const last = attempts.at(-1);
    const chosenIds = new Set([
      ...attempts.flatMap((a) => (a.chosen || []).map((c) => c.facility)),
      ...[].concat(last.handover || []).map((d) => String(d).split('.').pop()),
    ]);
    // framed on the customer and the chosen facilities, with the candidates near them (a far one is still drawn if in view)
    const reach = Math.max(30, 1.5 * Math.max(0, ...attempts.flatMap((a) => (a.chosen || []).map((c) => c.km ?? 0))));
    const frame = [...chosenIds, ...(last.candidates || []).filter((c) => (c.km ?? Infinity) <= reach).map((c) => c.facility)]
      .map((id) => byId.get(id))
      .filter(Boolean);
    // at least about 25 km across, so that a store next door does not fill the whole picture
    const lats = [dest.lat, ...frame.map((p) => p.lat)];
    const lons = [dest.lon, ...frame.map((p) => p.lon)];
    const mid = [(Math.min(...lons) + Math.max(...lons)) / 2, (Math.min(...lats) + Math.max(...lats)) / 2];
    const span = 0.12;
    const extent = {
      type: 'MultiPoint',
      coordinates: [[dest.lon, dest.lat], ...frame.map((p) => [p.lon, p.lat]), [mid[0] - span, mid[1] - span], [mid[0] + span, mid[1] + span]],
    };
    const w = 600;
    const hgt = 340;
    const projection = d3.geoAlbersUsa().fitExtent(
      [
        [40, 28],
        [w - 40, hgt - 28],
      ],
      extent,
    );
    const at = (p) => projection([p.lon, p.lat]);
    const to = at(dest);
    if (!to) return;
    const layers = { routes: [], labels: [], dots: [] };
    attempts.forEach((a, i) => {
      const latest = i === attempts.length - 1;
      for (const c of a.chosen || []) {
        const f = byId.get(c.facility);
        const from = f && at(f);
        if (!from) continue;
        layers.routes.push(
          s(
            'line',
            {
              class: `route ${latest ? 'latest' : 'earlier'}`,
              'data-facility': c.facility,
              'data-attempt': a.attempt,
              x1: from[0].toFixed(1),
              y1: from[1].toFixed(1),
              x2: to[0].toFixed(1),
              y2: to[1].toFixed(1),
            },
            s(
              'title',
              {},
              `attempt ${a.attempt}: ${c.facility} → ${pickupAt ? `pickup at ${pickupAt.id}` : 'ship-to'}, ${c.units} units, ${fmt(c.km, 1)} km, cost ${fmt(c.cost, 2)}`,
            ),
          ),
        );
        const mx = (from[0] + to[0]) / 2;
        // the latest attempt's label above its line, earlier ones below theirs
        const my = (from[1] + to[1]) / 2 + (latest ? -7 : 15 + 13 * (attempts.length - 2 - i));
        layers.labels.push(
          s(
            'text',
            {
              class: `route-label ${latest ? 'latest' : 'earlier'}`,
              'data-facility': c.facility,
              'data-attempt': a.attempt,
              x: mx.toFixed(1),
              y: my.toFixed(1),
              'text-anchor': 'middle',
            },
            `${attempts.length > 1 ? `#${a.attempt} ` : ''}${c.units} u · ${fmt(c.cost, 2)}`,
          ),
        );
      }
    });
    const chosenNow = new Set((last.chosen || []).map((c) => c.facility));
    for (const c of last.candidates || []) {
      const f = byId.get(c.facility);
      const p = f && at(f);
      if (!p) continue;
      const state = chosenNow.has(c.facility) ? 'chosen' : c.excluded ? 'excluded' : 'spare';
      const why = state === 'chosen' ? 'chosen' : c.excluded ? `excluded: ${c.excluded}` : `not needed (${c.units ?? 0} units available)`;
      layers.dots.push(
        s(
          'circle',
          { class: `cand ${state}`, 'data-facility': c.facility, cx: p[0].toFixed(1), cy: p[1].toFixed(1), r: state === 'chosen' ? 7 : 5 },
          s('title', {}, `${c.facility} · ${fmt(c.km, 1)} km · ${why}`),
        ),
      );
      layers.labels.push(s('text', { class: `cand-label ${state}`, x: (p[0] + 9).toFixed(1), y: (p[1] + 4).toFixed(1) }, c.facility));
    }
    const destDot = s(
      'g',
      { class: 'dest' },
      s(
        'circle',
        { class: 'shipto', cx: to[0].toFixed(1), cy: to[1].toFixed(1), r: 7 },
        s('title', {}, pickupAt ? `pickup at ${pickupAt.name} (${pickupAt.id})` : `ship-to ${dest.name ?? ''} (${fmt(dest.lat, 3)}, ${fmt(dest.lon, 3)})`),
      ),
      s(
        'text',
        { class: 'dest-label', x: (to[0] - 10).toFixed(1), y: (to[1] - 8).toFixed(1), 'text-anchor': 'end' },
        pickupAt ? `pickup at ${pickupAt.id}` : 'ship-to',
      ),
    );
    const svg = s(
      'svg',
      {
        class: 'map decision-map',
        viewBox: `0 0 ${w} ${hgt}`,
        role: 'img',
        'aria-label':
          `Map of order ${o.id}: ${pickupAt ? `pickup at ${pickupAt.id}` : 'the ship-to point'}, the candidate facilities (greyed where excluded) ` +
          'and a line from each chosen facility, labelled with units and cost. The tables below list the same.',
      },
      ...(await basemap(projection)),
      layers.routes,
      layers.dots,
      destDot,
      layers.labels,
    );
    const rows = attempts.flatMap((a) =>
      (a.chosen || []).map((c) =>
        h(
          'tr',
          { 'data-attempt': a.attempt },
          num(a.attempt),
          h('td', { class: 'nowrap' }, a.at ? clock(a.at) : ''),
          h('td', {}, c.facility),
          num(c.units),
          num(fmt(c.km, 1)),
          num(fmt(c.cost, 2)),
        ),
      ),
    );
    box.replaceChildren(
      h('h3', {}, attempts.length > 1 ? `On the map: ${attempts.length} attempts, in order (earlier ones dashed)` : 'On the map'),
      h('div', { class: 'map-wrap small' }, svg),
      h(
        'div',
        { class: 'legend' },
        h('span', { class: 'key' }, h('span', { class: 'swatch dest' }), pickupAt ? 'pickup store' : 'ship-to'),
        h('span', { class: 'key' }, h('span', { class: 'swatch good' }), 'chosen'),
        h('span', { class: 'key' }, h('span', { class: 'swatch spare' }), 'not needed'),
        h('span', { class: 'key' }, h('span', { class: 'swatch none' }), 'excluded (hover for why)'),
      ),
      rows.length
        ? h(
            'div',
            { class: 'scroll-x' },
            h(
              'table',
              { class: 'attempts' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['Attempt', 'At', 'Chosen', 'Units', 'km', 'Cost'].map((t, i) => h('th', { class: [0, 3, 4, 5].includes(i) ? 'num' : '' }, t)),
                ),
              ),
              h('tbody', {}, rows),
            ),
          )
        : null,
    );
  });

  // ------------------------------------------------------------------ the last hours

  const DO_STATES = ['released', 'acknowledged', 'picked', 'short_picked', 'packed', 'ready_for_pickup'];
  const COLOURS = ['#2357c6', '#1f8a4c', '#a35c00', '#b42318', '#7a4fc2', '#0e8a8a'];
  const CHARTS = [
    {
      id: 'orders',
      title: 'Orders per minute',
      series: [
        ['received', (p) => p.received],
        ['allocated', (p) => p.allocated],
      ],
    },
    { id: 'fill', title: 'Order fill rate (%)', series: [['filled in full', (p) => (p.fillRate === null ? null : Math.round(p.fillRate * 1000) / 10)]] },
    { id: 'backorders', title: 'Open backorders', series: [['orders waiting', (p) => p.backordersOpen]] },
    { id: 'dos', title: 'Open DOs by state', series: DO_STATES.map((st) => [label(st), (p) => p.dos[st] ?? 0]) },
    {
      id: 'nodes',
      title: 'Nodes online',
      series: [
        ['online', (p) => p.nodesOnline],
        ['registered', (p) => p.nodes],
      ],
    },
    {
      id: 'sync',
      title: 'Sync latency p99 (ms)',
      series: [
        ['hub → node', (p) => p.syncDownP99Ms],
        ['node → hub', (p) => p.syncUpP99Ms],
      ],
    },
  ];
  let closed = []; // closed points, oldest first
  let current = null;
  let windowMinutes = 360;
  const plots = new Map();
  let xRange = [0, 1];

  const shown = () => {
    const all = current ? [...closed, current] : closed;
    const from = Date.now() - windowMinutes * 60_000;
    return all.filter((p) => Date.parse(p.at) >= from);
  };

  const loadSeries = guard(async () => {
    const since = closed.at(-1)?.at;
    const r = await api(`/api/v1/series${since ? `?since=${encodeURIComponent(since)}` : ''}`);
    closed = [...closed, ...r.points].slice(-r.keep);
    current = r.current;
    drawCharts();
  });
  let seriesDue = null;
  const loadSeriesSoon = () => {
    if (seriesDue) return;
    seriesDue = setTimeout(() => {
      seriesDue = null;
      loadSeries();
    }, 1000);
  };

  function chartWidth(el) {
    return Math.max(200, Math.floor(el.clientWidth || 300));
  }

  function drawCharts() {
    const pts = shown();
    const xs = pts.map((p) => Date.parse(p.at) / 1000);
    // the minutes there are, at least ten of them wide (a fresh hub has one point), never past the window
    const last = xs.length ? xs.at(-1) + 60 : Date.now() / 1000;
    xRange = [Math.max(last - windowMinutes * 60, Math.min(xs[0] ?? last, last - 600)), last];
    const host = $('#charts');
    for (const c of CHARTS) {
      let entry = plots.get(c.id);
      const data = [xs, ...c.series.map(([, f]) => pts.map(f))];
      if (!entry) {
        const plotBox = h('div', { class: 'plot' });
        const box = h(
          'figure',
          { class: 'chart', id: `chart-${c.id}`, 'aria-label': `${c.title}; the table below lists the same` },
          h('figcaption', {}, c.title),
          plotBox,
        );
        host.append(box);
        const opts = {
          width: chartWidth(box),
          height: 160,
          legend: { live: false },
          cursor: { points: { size: 6 } },
          scales: { x: { time: true, range: () => xRange }, y: { range: (u, min, max) => [Math.min(0, min ?? 0), Math.max(1, max ?? 1) * 1.1] } },
          axes: [
            { size: 30, font: '11px system-ui' },
            { size: 44, font: '11px system-ui' },
          ],
          series: [
            {},
            ...c.series.map(([name], i) => ({
              label: name,
              stroke: COLOURS[i % COLOURS.length],
              width: 1.5,
              spanGaps: false,
              points: { show: xs.length < 3 ? true : undefined, size: 5 },
            })),
          ],
        };
        entry = { box, plot: new uPlot(opts, data, plotBox) };
        plots.set(c.id, entry);
      } else entry.plot.setData(data);
      entry.box.dataset.points = String(xs.length);
    }
    const total = pts.reduce((a, p) => a + p.received, 0);
    $('#charts-summary').textContent =
      `${pts.length} minute${pts.length === 1 ? '' : 's'}, ${total} orders received · one point a minute, the last kept for 24 h`;
    drawSeriesTable(pts);
  }

  function drawSeriesTable(pts) {
    const heads = ['Minute', 'Received', 'Allocated', 'Fill rate', 'Backorders', 'Open DOs', 'Nodes online', 'Sync ↓ p99 ms', 'Sync ↑ p99 ms'];
    $('#series-table thead').replaceChildren(
      h(
        'tr',
        {},
        heads.map((t, i) => h('th', { class: i ? 'num' : '' }, t)),
      ),
    );
    $('#series-table tbody').replaceChildren(
      ...[...pts].reverse().map((p) => {
        const dos = Object.values(p.dos).reduce((a, b) => a + b, 0);
        return h(
          'tr',
          { 'data-at': p.at, class: p === current ? 'partial' : '' },
          h('td', { class: 'nowrap' }, new Date(p.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }), p === current ? ' (so far)' : ''),
          num(p.received),
          num(p.allocated),
          num(pct(p.fillRate)),
          num(p.backordersOpen),
          h(
            'td',
            {
              class: 'num',
              title: Object.entries(p.dos)
                .map(([k, v]) => `${label(k)} ${v}`)
                .join(', '),
            },
            dos,
          ),
          num(p.nodesOnline === null ? null : `${p.nodesOnline} / ${p.nodes}`),
          num(p.syncDownP99Ms),
          num(p.syncUpP99Ms),
        );
      }),
    );
  }

  const resize = () => {
    for (const { box, plot } of plots.values()) {
      const w = chartWidth(box);
      if (Math.abs(w - plot.width) > 2) plot.setSize({ width: w, height: 160 });
    }
  };
  if (window.ResizeObserver) new ResizeObserver(() => resize()).observe(document.documentElement);

  // ------------------------------------------------------------------ replenishment: the fair share

  async function replenish(dryRun) {
    const view = $('#repl-view');
    $('#repl-summary').textContent = dryRun ? 'planning…' : 'running…';
    try {
      const r = await post('/api/v1/replenishment/run', { dryRun });
      $('#repl-summary').textContent =
        `${dryRun ? 'planned, nothing written' : `run ${r.runId}: ${r.created} DO(s) written`} · ${r.transfers.length} transfer(s), ` +
        `${r.purchaseSuggestions.length} purchase suggestion(s), ${r.fairShare.length} SKU(s) shared fairly`;
      view.replaceChildren(
        ...r.fairShare.map(fairShareBlock),
        h('h3', {}, 'Transfers'),
        h(
          'div',
          { class: 'scroll short' },
          h(
            'table',
            { id: 'repl-transfers' },
            h('thead', {}, h('tr', {}, h('th', {}, 'From'), h('th', {}, 'To'), h('th', {}, 'SKU'), h('th', { class: 'num' }, 'Units'))),
            h(
              'tbody',
              {},
              r.transfers.length
                ? r.transfers.map((t) => h('tr', {}, h('td', {}, t.from), h('td', {}, t.to), h('td', {}, t.sku), num(t.qty)))
                : empty(4, 'No transfer needed.'),
            ),
          ),
        ),
        r.purchaseSuggestions.length
          ? [
              h('h3', {}, 'Purchase suggestions'),
              h(
                'div',
                { class: 'scroll short' },
                h(
                  'table',
                  {},
                  h('thead', {}, h('tr', {}, h('th', {}, 'DC'), h('th', {}, 'SKU'), h('th', { class: 'num' }, 'Units'), h('th', { class: 'num' }, 'Position'))),
                  h(
                    'tbody',
                    {},
                    r.purchaseSuggestions.map((p) => h('tr', {}, h('td', {}, p.facility), h('td', {}, p.sku), num(p.qty), num(p.position))),
                  ),
                ),
              ),
            ]
          : null,
      );
    } catch (err) {
      if (err instanceof Unauthorized) return signOut('The planner token was refused. Sign in again.');
      $('#repl-summary').textContent = '';
      view.replaceChildren(h('p', { class: 'error' }, String(err.message)));
    }
  }

  /** One constrained SKU: days of supply per store before and after, and how the DC's units were split. */
  function fairShareBlock(f) {
    const rows = f.stores.map((st) => ({ ...st, before: st.daily > 0 ? st.position / st.daily : null, after: st.projectedDays }));
    const maxDays = Math.max(1, ...rows.flatMap((r) => [r.before ?? 0, r.after ?? 0]), f.daysOfSupply ?? 0);
    const w = 460;
    const rowH = 30;
    const left = 86;
    const x = (d) => left + ((w - left - 56) * Math.max(0, d)) / maxDays;
    const bars = rows.flatMap((r, i) => {
      const y = 8 + i * rowH;
      return [
        s('text', { class: 'bar-label', x: left - 6, y: y + 16, 'text-anchor': 'end' }, r.store),
        s(
          'rect',
          { class: 'bar before', x: left, y, width: Math.max(1, x(r.before ?? 0) - left).toFixed(1), height: 10 },
          s('title', {}, `${r.store} before: ${fmt(r.before, 1)} days of supply`),
        ),
        s(
          'rect',
          { class: 'bar after', 'data-store': r.store, x: left, y: y + 12, width: Math.max(1, x(r.after ?? 0) - left).toFixed(1), height: 10 },
          s('title', {}, `${r.store} after: ${fmt(r.after, 1)} days (+${r.qty} units)`),
        ),
        s('text', { class: 'bar-value', x: (x(r.after ?? 0) + 4).toFixed(1), y: y + 21 }, `${fmt(r.after, 1)} d`),
      ];
    });
    const ds =
      f.daysOfSupply === null
        ? []
        : [
            s('line', { class: 'level', x1: x(f.daysOfSupply).toFixed(1), x2: x(f.daysOfSupply).toFixed(1), y1: 2, y2: 8 + rows.length * rowH }),
            s(
              'text',
              { class: 'bar-value', x: x(f.daysOfSupply).toFixed(1), y: 14 + rows.length * rowH, 'text-anchor': 'middle' },
              `common level ${fmt(f.daysOfSupply, 1)} d`,
            ),
          ];
    const daysChart = s(
      'svg',
      {
        class: 'fair-chart',
        viewBox: `0 0 ${w} ${24 + rows.length * rowH}`,
        role: 'img',
        'aria-label': `${f.sku} at ${f.dc}: days of supply per store before and after the run; the table beside lists the same`,
      },
      bars,
      ds,
    );
    // the DC's available units, split by store
    const sent = rows.reduce((a, r) => a + r.qty, 0);
    let at = 0;
    const splitW = w - 2;
    const split = s(
      'svg',
      { class: 'fair-split', viewBox: `0 0 ${w} 34`, role: 'img', 'aria-label': `${f.dc}'s ${f.available} units of ${f.sku}, split by store` },
      rows
        .filter((r) => r.qty > 0)
        .map((r, i) => {
          const width = (splitW * r.qty) / Math.max(1, f.available);
          const seg = s(
            'g',
            {},
            s(
              'rect',
              { class: 'seg', x: (1 + at).toFixed(1), y: 2, width: Math.max(1, width - 1).toFixed(1), height: 18, fill: COLOURS[i % COLOURS.length] },
              s('title', {}, `${r.store}: ${r.qty} units`),
            ),
            width > 34 ? s('text', { class: 'seg-label', x: (1 + at + width / 2).toFixed(1), y: 15, 'text-anchor': 'middle' }, `${r.store} ${r.qty}`) : null,
          );
          at += width;
          return seg;
        }),
      s('text', { class: 'bar-value', x: 1, y: 32 }, `${f.dc}: ${f.available} units available, ${sent} sent, ${f.totalNeed} needed`),
    );
    const table = h(
      'table',
      { class: 'fair-table' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Store', 'Position', 'Daily', 'Need', 'Sent', 'Days before', 'Days after'].map((t, i) => h('th', { class: i ? 'num' : '' }, t)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h(
            'tr',
            { 'data-store': r.store },
            h('td', {}, r.store),
            num(r.position),
            num(fmt(r.daily, 1)),
            num(r.need),
            num(r.qty),
            num(fmt(r.before, 1)),
            num(fmt(r.after, 1)),
          ),
        ),
      ),
    );
    return h(
      'div',
      { class: 'fair', 'data-sku': f.sku, 'data-dc': f.dc },
      h('h3', {}, `${f.sku} at ${f.dc}: ${f.available} units for a need of ${f.totalNeed}`),
      h(
        'div',
        { class: 'fair-grid' },
        h(
          'div',
          { class: 'fair-pictures' },
          daysChart,
          split,
          h(
            'div',
            { class: 'legend' },
            h('span', { class: 'key' }, h('span', { class: 'swatch before' }), 'days of supply before'),
            h('span', { class: 'key' }, h('span', { class: 'swatch active' }), 'after the run'),
          ),
        ),
        h('div', { class: 'scroll-x' }, table),
      ),
    );
  }

  // ------------------------------------------------------------------ wiring

  let networkDue = null;
  const loadNetworkSoon = () => {
    if (networkDue) return;
    networkDue = setTimeout(() => {
      networkDue = null;
      loadNetwork();
    }, 3000);
  };

  document.addEventListener('DOMContentLoaded', () => {
    $('#map-colour').addEventListener('change', () => {
      mode = $('#map-colour').value;
      if (mode === 'stock' && !stock) $('#map-sku').focus();
      drawMap();
    });
    $('#map-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const sku = $('#map-sku').value.trim();
      if (!sku) return;
      mode = 'stock';
      $('#map-colour').value = 'stock';
      loadStock(sku);
    });
    $('#charts-window').addEventListener('change', () => {
      windowMinutes = Number($('#charts-window').value);
      drawCharts();
    });
    $('#repl-plan').addEventListener('click', () => replenish(true));
    $('#repl-run').addEventListener('click', () => {
      if (confirm('Write the planned transfers as DOs at the DCs?')) replenish(false);
    });
  });

  return {
    decision,
    refresh() {
      loadNetwork();
      loadSeries();
    },
    onEvent(type, e) {
      loadSeriesSoon();
      if (type === 'facility' || type === 'do' || type === 'allocation') loadNetworkSoon();
      if (type === 'do' && stock && e?.data?.state === 'shipped') loadStock(stock.sku);
    },
    /** Timers for dashboard.js to clear on sign-out: the minute boundary, and node health on the map. */
    timers: () => [setInterval(loadSeries, 30_000), setInterval(loadNetwork, 30_000)],
  };
})();
