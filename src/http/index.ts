export { createHandler, type OomkitHandler, type HandlerOptions } from './handler.js'
export { startServer, type DebugServer } from './server.js'
export { canonicalize, territoryOf } from './paths.js'
export { type Route, type RouteContext, QueryError, intParam, flagParam, queryParam } from './routes.js'
export { sendJson, sendError, setDebugHeaders } from './respond.js'
export { metricsRoute } from './metrics-route.js'
export { memoryRoute, defaultRefreshSeconds, MAX_REFRESH_SECONDS, type MemoryRouteOptions } from './memory-route.js'
export {
  LISTEN_DEFAULTS,
  resolveListen,
  resolveMount,
  type HandlerMountOptions,
  type ListenOptions,
  type ResolvedListen,
  type ResolvedMount,
} from './mount-options.js'
export { HttpSurface, stoppedError } from './listener.js'
export { answerHead } from './respond.js'
