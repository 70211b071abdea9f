import client, { type Registry, type RegistryContentType } from 'prom-client'
import type { OomkitLogger } from '../logging/logger.js'
import type { Route } from './routes.js'

const OPENMETRICS = 'application/openmetrics-text'

/**
 * Renders the registry in OpenMetrics. prom-client renames counters on the metric objects it
 * serves as OpenMetrics, so each metric is served through a throwaway object that inherits from
 * it: the app's registry and metrics stay exactly as they were for the next text scrape.
 */
async function openMetrics(registry: Registry<RegistryContentType>): Promise<string> {
  const om = new client.Registry<client.OpenMetricsContentType>()
  om.setContentType(client.Registry.OPENMETRICS_CONTENT_TYPE)
  const labels = (registry as unknown as { _defaultLabels?: Record<string, string> })._defaultLabels
  if (labels !== undefined && Object.keys(labels).length > 0) om.setDefaultLabels(labels)
  for (const metric of registry.getMetricsAsArray()) om.registerMetric(Object.create(metric) as never)
  return om.metrics()
}

/** Whether the client asked for OpenMetrics (Prometheus does when it may). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return accept !== undefined && accept.toLowerCase().includes(OPENMETRICS)
}

/** `GET /metrics`: the registry, in the text format or OpenMetrics when asked for. */
export function metricsRoute(registry: () => Registry<RegistryContentType>, logger: OomkitLogger): Route {
  return {
    path: '/metrics',
    methods: ['GET'],
    kind: 'metrics',
    async handle({ req, res, method }) {
      const reg = registry()
      const om = wantsOpenMetrics(req.headers.accept) && (reg.contentType as string) !== client.Registry.OPENMETRICS_CONTENT_TYPE
      let body: string
      try {
        body = om ? await openMetrics(reg) : await reg.metrics()
      } catch (err) {
        // Something outside oomkit's collectors threw: say so plainly rather than half a page.
        logger.error({ err }, 'metrics scrape failed')
        throw err
      }
      res.statusCode = 200
      res.setHeader('Content-Type', om ? client.Registry.OPENMETRICS_CONTENT_TYPE : reg.contentType)
      res.setHeader('Content-Length', Buffer.byteLength(body))
      res.setHeader('Cache-Control', 'no-store')
      res.end(method === 'HEAD' ? undefined : body)
    },
  }
}
