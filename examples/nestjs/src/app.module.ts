import { Module } from '@nestjs/common'
import { CHANNELS } from './channels'
import { RoutingModule } from './routing/routing.module'

@Module({
  imports: [
    RoutingModule.forRoot({
      channels: CHANNELS,
      router: { seed: 7 },
      partnerUrl: process.env.PARTNER_URL,
    }),
  ],
})
export class AppModule {}
