// @sigil/content-service: the phase-1 sample post service, port 50053; calls user-service.
// Run it with bin/content-service.js; embed it (as its tests do) with these.
export { loadContentServiceConfig } from './config';
export { startContentService } from './service';

export type { ContentServiceConfig } from './config';
