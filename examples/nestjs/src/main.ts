import { createApp } from './app'

async function bootstrap(): Promise<void> {
  const app = await createApp()
  const host = process.env.HOST ?? '127.0.0.1'
  const port = Number(process.env.PORT ?? 3000)
  await app.listen(port, host)
  console.log(`uoom NestJS example listening on http://${host}:${port}`)
}

void bootstrap()
