/** `npx tsx examples/consent-center/main.ts`: the consent centre on http://127.0.0.1:<port>/consent-center. */
import type { AddressInfo } from 'node:net';
import { createConsentCenter } from './app.js';

const { app } = await createConsentCenter();
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(
    `Consent centre: http://127.0.0.1:${port}/consent-center (sign in: document.cookie = "uid=u42")`,
  );
});
