// A CommonJS app: oomkit is ESM-only, and Node 20.19+ loads it with require().
const http = require('node:http')
const { createOomkit } = require('oomkit')

const kit = createOomkit().start()
kit.listen({ port: Number(process.env.OOMKIT_PORT ?? 9469) }).then(
  (s) => console.log(`oomkit on ${s.url}`),
  (err) => console.error(`oomkit debug server down: ${err.message}`),
)
http.createServer((_req, res) => res.end('hello from a CommonJS app\n')).listen(Number(process.env.PORT ?? 3002), '127.0.0.1')
