import type { Couch } from './couch/index.js';
import type { NodeRegistry } from './registry.js';
import type { NodeStats } from './gateway/stats.js';
import type { Monitor } from './monitor/index.js';
import type { FacilityStore } from './facilities.js';
import type { HubConfig } from './config.js';
import type { AvailabilityIndex } from './inventory/index.js';
import type { Reservations } from './inventory/reservations.js';
import type { FacilityGrid } from './inventory/atp.js';
import type { ItemStore } from './items.js';
import type { OrderStore } from './orders/store.js';
import type { EventBus } from './events.js';
import type { PlanningStore } from './planning/store.js';
import type { Logger } from '../shared/log.js';

/** What the hub's parts share; built once by startHub. */
export interface HubContext {
  config: HubConfig;
  couch: Couch;
  registry: NodeRegistry;
  stats: NodeStats;
  monitor: Monitor;
  facilities: FacilityStore;
  index: AvailabilityIndex;
  /** checkout reservations, held in the index */
  reservations: Reservations;
  /** facilities by place, for availability checks */
  grid: FacilityGrid;
  items: ItemStore;
  orders: OrderStore;
  events: EventBus;
  planning: PlanningStore;
  log: Logger;
}
