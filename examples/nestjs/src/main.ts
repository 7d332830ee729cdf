import type { AddressInfo } from 'node:net'
import { createApp } from './app'

async function bootstrap(): Promise<void> {
  const app = await createApp()
  // SIGTERM/SIGINT run the shutdown hooks: /ready turns 503, orders in
  // flight finish booking, then the HTTP server closes.
  app.enableShutdownHooks()
  const host = process.env.HOST ?? '127.0.0.1'
  const port = Number(process.env.PORT ?? 3000)
  await app.listen(port, host)
  const bound = app.getHttpServer().address() as AddressInfo
  console.log(`uoom NestJS example listening on http://${host}:${bound.port}`)
}

void bootstrap()
