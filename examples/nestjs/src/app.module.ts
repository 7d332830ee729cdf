import { Module } from '@nestjs/common'
import { loadChannels } from './channels'
import { HealthModule } from './health/health.module'
import { RoutingModule } from './routing/routing.module'

@Module({
  imports: [
    RoutingModule.forRoot({
      channels: loadChannels(process.env.CHANNELS_FILE),
      router: { seed: 7 },
      partnerUrl: process.env.PARTNER_URL,
      drainTimeoutMs: Number(process.env.DRAIN_TIMEOUT_MS ?? 10_000),
    }),
    HealthModule,
  ],
})
export class AppModule {}
