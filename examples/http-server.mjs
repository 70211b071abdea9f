// A plain node:http service with oomkit's routes on its own port (token required there) and
// oomkit's loopback debug server beside it.
import { createServer } from 'node:http'
import { createOomkit } from 'oomkit'

const kit = createOomkit().start()
const oomkit = kit.handler({ token: process.env.OOMKIT_TOKEN ?? 'change-me-please' })

const server = createServer((req, res) => {
  oomkit(req, res, () => {
    res.setHeader('Content-Type', 'text/plain')
    res.end('hello from the app\n')
  })
})
server.listen(Number(process.env.PORT ?? 3001), '127.0.0.1', () => {
  console.log(`app on http://127.0.0.1:${server.address().port}`)
})
await kit.listen({ port: Number(process.env.OOMKIT_PORT ?? 9469) })
