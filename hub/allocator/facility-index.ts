/**
 * The facility index: where facilities are, and which are nearest a point. Facilities are unit
 * vectors on the sphere; the nearest has the largest dot product with the point's (the same order
 * as great-circle distance, without a haversine per facility). Beyond SCAN_LIMIT facilities a
 * search visits rings of 1° grid cells around the point, until no farther ring can hold anything
 * nearer than the k found. DCs are few and far apart, so they are kept apart and always scanned.
 *
 * Predicates (`ok`) are passed in by the caller; they must not close over per-call state on a hot
 * path (under tsx's keepNames each closure created costs a property definition): the planner keeps
 * its predicates on its workspace (workspace.ts).
 */
import type { SourcingFacility } from './strategy.js';

export const EARTH_RADIUS_KM = 6371.0088;
const RAD = Math.PI / 180;
/** Up to this many facilities the nearest search scans them all; beyond, a grid of 1° cells. */
const SCAN_LIMIT = 256;
const CELL_DEG = 1;

export interface Point {
  lat: number;
  lon: number;
}

/** Facility indices, best first, with the dot products of their unit vectors and the point's (cos of the angle). */
export interface Found {
  ids: number[];
  dots: number[];
}

/** Great-circle km from a dot product of unit vectors. */
export function kmOfDot(dot: number): number {
  return EARTH_RADIUS_KM * Math.acos(Math.max(-1, Math.min(1, dot)));
}

/** One search: the point's unit vector, and the k best (largest dot product) facilities seen so far that pass `ok`. */
class TopK implements Found {
  readonly ids: number[] = [];
  readonly dots: number[] = [];
  floor: number;
  constructor(
    readonly x: number,
    readonly y: number,
    readonly z: number,
    readonly k: number,
    readonly minDot: number,
  ) {
    this.floor = minDot;
  }
  reset() {
    this.ids.length = 0;
    this.dots.length = 0;
    this.floor = this.minDot;
  }
  consider(fi: number, d: number, ok: (fi: number) => boolean) {
    const { ids, dots, k } = this;
    if (d < this.floor || (d === this.floor && ids.length >= k)) return;
    if (!ok(fi)) return;
    let j = ids.length;
    if (j < k) {
      ids.push(fi);
      dots.push(d);
    } else j--;
    while (j > 0 && dots[j - 1]! < d) {
      ids[j] = ids[j - 1]!;
      dots[j] = dots[j - 1]!;
      j--;
    }
    ids[j] = fi;
    dots[j] = d;
    if (ids.length >= k) this.floor = dots[k - 1]!;
  }
}

export class FacilityIndex {
  /** unit vectors, 3 per facility: the nearest facility has the largest dot product */
  private readonly xyz: Float64Array;
  /** grid of CELL_DEG cells (row-major from −90° lat, −180° lon): facility indices by cell */
  private readonly grid: { rows: number; cols: number; start: Int32Array; ids: Int32Array } | null = null;
  /** the DCs' indices: candidates however many stores are nearer (SourcingStrategy.maxDcCandidates) */
  readonly dcs: Int32Array;
  /** for de-duplicating facilities in searchAmong: a facility is seen in this search when its stamp is stampGen */
  private stamp: Uint32Array;
  private stampGen = 0;

  constructor(readonly facilities: readonly SourcingFacility[]) {
    const n = facilities.length;
    this.stamp = new Uint32Array(n);
    this.xyz = new Float64Array(n * 3);
    facilities.forEach((f, i) => {
      const la = f.lat * RAD;
      const lo = f.lon * RAD;
      this.xyz[3 * i] = Math.cos(la) * Math.cos(lo);
      this.xyz[3 * i + 1] = Math.cos(la) * Math.sin(lo);
      this.xyz[3 * i + 2] = Math.sin(la);
    });
    this.dcs = Int32Array.from(facilities.flatMap((f, i) => (f.type === 'dc' ? [i] : [])));
    if (n > SCAN_LIMIT) {
      const rows = Math.round(180 / CELL_DEG);
      const cols = Math.round(360 / CELL_DEG);
      const cellOf = facilities.map((f) => {
        const r = Math.min(rows - 1, Math.max(0, Math.floor((f.lat + 90) / CELL_DEG)));
        const c = (((Math.floor((f.lon + 180) / CELL_DEG) % cols) + cols) % cols) | 0;
        return r * cols + c;
      });
      const start = new Int32Array(rows * cols + 1);
      for (const c of cellOf) start[c + 1]!++;
      for (let c = 0; c < rows * cols; c++) start[c + 1]! += start[c]!;
      const fill = start.slice(0, rows * cols);
      const ids = new Int32Array(n);
      cellOf.forEach((c, i) => (ids[fill[c]!++] = i));
      this.grid = { rows, cols, start, ids };
    }
  }

  /** A copy that shares the geometry but has its own de-duplication scratch (for a cloned network). */
  clone(): FacilityIndex {
    const c = Object.create(FacilityIndex.prototype) as FacilityIndex;
    Object.assign(c, this);
    c.stamp = new Uint32Array(this.facilities.length);
    c.stampGen = 0;
    return c;
  }

  /** A search from `point` for at most k facilities within maxKm. */
  private begin(point: Point, k: number, maxKm: number): TopK {
    const la = point.lat * RAD;
    const lo = point.lon * RAD;
    // chord and great-circle distance grow together: rank by the dot product of unit vectors
    const maxAng = maxKm / EARTH_RADIUS_KM;
    return new TopK(Math.cos(la) * Math.cos(lo), Math.cos(la) * Math.sin(lo), Math.sin(la), k, maxAng >= Math.PI ? -2 : Math.cos(maxAng));
  }

  /** Offer facility fi to a search. */
  private visit(top: TopK, fi: number, ok: (fi: number) => boolean): void {
    const xyz = this.xyz;
    top.consider(fi, top.x * xyz[3 * fi]! + top.y * xyz[3 * fi + 1]! + top.z * xyz[3 * fi + 2]!, ok);
  }

  /** Nearest facilities among `lists` (de-duplicated) that pass `ok`, at most k, with dot products. */
  searchAmong(point: Point, lists: readonly (readonly number[])[], k: number, maxKm: number, ok: (fi: number) => boolean): Found {
    const top = this.begin(point, k, maxKm);
    if (++this.stampGen === 0xffffffff) {
      this.stamp.fill(0);
      this.stampGen = 1;
    }
    const gen = this.stampGen;
    for (const list of lists)
      for (const fi of list) {
        if (this.stamp[fi] === gen) continue;
        this.stamp[fi] = gen;
        this.visit(top, fi, ok);
      }
    return top;
  }

  /** The nearest DCs that pass `ok`, at most `k`, with their dot products. */
  nearestDcs(point: Point, k: number, maxKm: number, ok: (fi: number) => boolean): Found {
    if (k <= 0 || this.dcs.length === 0) return { ids: [], dots: [] };
    const top = this.begin(point, Math.min(k, this.dcs.length), maxKm);
    for (const fi of this.dcs) this.visit(top, fi, ok);
    return top;
  }

  /** Facilities nearest `point` first that pass `ok`, at most `k`, within `maxKm` great-circle km, with dot products. */
  search(point: Point, k: number, maxKm: number, ok: (fi: number) => boolean): Found {
    const n = this.facilities.length;
    if (n === 0 || k <= 0) return { ids: [], dots: [] };
    const top = this.begin(point, Math.min(k, n), maxKm);
    const maxAng = maxKm / EARTH_RADIUS_KM;
    const g = this.grid;
    if (g) {
      // rings of cells around the point's cell, until the next ring cannot hold anything nearer
      const fr = (point.lat + 90) / CELL_DEG;
      const fc = (point.lon + 180) / CELL_DEG;
      const prow = Math.min(g.rows - 1, Math.max(0, Math.floor(fr)));
      const pcol = (((Math.floor(fc) % g.cols) + g.cols) % g.cols) | 0;
      const inLat = Math.min(fr - Math.floor(fr), 1 - (fr - Math.floor(fr)));
      const inLon = Math.min(fc - Math.floor(fc), 1 - (fc - Math.floor(fc)));
      const cosLat = Math.cos(point.lat * RAD);
      const maxRing = (g.cols - 1) >> 1; // beyond, rings would wrap onto themselves
      const { start, ids, cols } = g;
      for (let r = 0; r <= maxRing; r++) {
        if (r > 0) {
          // nothing in ring r is nearer than this angle: a latitude gap, or a longitude gap at this latitude
          const latGap = (r - 1 + inLat) * CELL_DEG * RAD;
          const lonGap = Math.min(Math.PI / 2, (r - 1 + inLon) * CELL_DEG * RAD);
          const bound = Math.min(latGap, Math.asin(Math.min(1, cosLat * Math.sin(lonGap))));
          if (bound > maxAng || (top.ids.length >= top.k && Math.cos(bound) <= top.floor)) return top;
        }
        const r0 = prow - r;
        const r1 = prow + r;
        for (let row = Math.max(0, r0); row <= Math.min(g.rows - 1, r1); row++) {
          // the whole row on the ring's top and bottom, its two ends in between
          const step = row === r0 || row === r1 ? 1 : Math.max(1, 2 * r);
          for (let col = pcol - r; col <= pcol + r; col += step) {
            const c = row * cols + (((col % cols) + cols) % cols);
            for (let e = start[c]!, end = start[c + 1]!; e < end; e++) this.visit(top, ids[e]!, ok);
          }
        }
      }
      // the search spans the globe: scan everything
      top.reset();
    }
    for (let fi = 0; fi < n; fi++) this.visit(top, fi, ok);
    return top;
  }
}
