export type { IssuedKeyView, KeyView, PaymentsApiOptions } from './api.js';
export { InvalidRequest, notFound, PaymentsApi, problemFor } from './api.js';
export type { Account, Payment, Webhook, WorkspaceData } from './data.js';
export { PaymentsData } from './data.js';
export type {
  BannerInput,
  DemoAddress,
  DemoServer,
  DemoServices,
  MintedKeys,
  RunDemoOptions,
} from './demo.js';
export {
  banner,
  createDemoServices,
  DEFAULT_HOST,
  DEFAULT_PORT,
  DEMO_WORKSPACE,
  DemoConfigurationError,
  demoAddress,
  firstStart,
  httpUrl,
  listenHttp,
  runDemo,
} from './demo.js';
export type { RouteSpec } from './routes.js';
export { ROUTES } from './routes.js';
