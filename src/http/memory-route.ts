import { sendJson } from './respond.js'
import type { Route } from './routes.js'

/** `GET /debug/memory`: the memory report as JSON. */
export function memoryRoute(report: () => object): Route {
  return {
    path: '/debug/memory',
    methods: ['GET'],
    kind: 'debug',
    handle({ res, method }) {
      sendJson(res, 200, report(), method === 'HEAD')
    },
  }
}
