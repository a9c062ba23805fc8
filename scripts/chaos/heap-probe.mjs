// The soak's look inside the hub, over the inspector protocol (the hub runs with --inspect on
// loopback during a soak). Run with `node --experimental-websocket` (Node 20's WebSocket):
//   heap-probe.mjs <ws url> gc                  the process's memory, then a full GC and its memory again, as JSON
//   heap-probe.mjs <ws url> snapshot <file>     a full GC, then a heap snapshot into <file>
import { createWriteStream } from 'node:fs';

const [url, cmd, file] = process.argv.slice(2);
if (!url || !['gc', 'snapshot'].includes(cmd) || (cmd === 'snapshot' && !file)) {
  console.error('usage: heap-probe.mjs <ws url> gc | snapshot <file>');
  process.exit(2);
}
const ws = new WebSocket(url);
let id = 0;
const waiting = new Map();
let out = null;
ws.onmessage = (ev) => {
  const m = JSON.parse(String(ev.data));
  if (m.method === 'HeapProfiler.addHeapSnapshotChunk') out.write(m.params.chunk);
  else if (m.id !== undefined && waiting.has(m.id)) {
    const { ok, fail } = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error) fail(new Error(`${m.error.message}`));
    else ok(m.result);
  }
};
const call = (method, params = {}) =>
  new Promise((ok, fail) => {
    waiting.set(++id, { ok, fail });
    ws.send(JSON.stringify({ id, method, params }));
  });
const timer = setTimeout(() => {
  console.error('heap-probe: no answer within 120 s');
  process.exit(1);
}, 120_000);
ws.onerror = (e) => {
  console.error(`heap-probe: ${e.message ?? 'cannot connect'}`);
  process.exit(1);
};
ws.onopen = async () => {
  try {
    const usage = async () =>
      JSON.parse((await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })).result.value);
    await call('HeapProfiler.enable');
    if (cmd === 'gc') {
      // the heap as the process holds it (garbage and all), its spaces' capacity and V8's own malloc'd
      // memory (the compilers' zones: its peak stays in malloc's arenas), then after a full GC
      const v8 = JSON.parse(
        (
          await call('Runtime.evaluate', {
            expression:
              "(() => { const v8 = require('v8'); const h = v8.getHeapStatistics(); return JSON.stringify({ spaces: Object.fromEntries(v8.getHeapSpaceStatistics().map((x) => [x.space_name, x.space_size])), malloced: h.malloced_memory, peakMalloced: h.peak_malloced_memory }); })()",
            includeCommandLineAPI: true,
            returnByValue: true,
          })
        ).result.value ?? 'null',
      );
      const before = { ...(await usage()), v8 };
      await call('HeapProfiler.collectGarbage');
      process.stdout.write(`${JSON.stringify({ ...(await usage()), before })}\n`);
    } else {
      await call('HeapProfiler.collectGarbage');
      out = createWriteStream(file);
      await call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
      await new Promise((ok) => out.end(ok));
      console.log(file);
    }
    clearTimeout(timer);
    ws.close();
    process.exit(0);
  } catch (err) {
    console.error(`heap-probe: ${err.message}`);
    process.exit(1);
  }
};
