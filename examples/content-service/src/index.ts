// @sigil/content-service: the phase-1 sample post service, port 50053; calls user-service.
export {
  loadContentServiceConfig,
  ALLOWED_CLIENTS_ENV,
  CONTENT_SERVICE_DEFAULT_POLICY,
} from './config';
export { startContentService } from './service';
export { createContentHandlers } from './content-handlers';
export { createPostStore } from './post-store';

export type { ContentServiceConfig } from './config';
export type { ContentHandlers, ContentHandlersOptions } from './content-handlers';
export type { NewPost, PostStore } from './post-store';
