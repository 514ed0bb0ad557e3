export type { IssuedKeyView, KeyView, PaymentsApiOptions } from './api.js';
export { InvalidRequest, notFound, PaymentsApi, problemFor } from './api.js';
export {
  clusterSettings,
  DEFAULT_WORKERS,
  MAX_WORKERS,
  runDemoCluster,
  workerCount,
} from './cluster.js';
export type { Account, Payment, Webhook, WorkspaceData } from './data.js';
export { PaymentsData } from './data.js';
export type {
  BannerInput,
  DemoAddress,
  DemoServer,
  DemoServices,
  DemoServicesOptions,
  DemoSettings,
  MintedKeys,
  OpenedDemo,
  RunDemoOptions,
} from './demo.js';
export {
  banner,
  createDemoServices,
  DEFAULT_HOST,
  DEFAULT_PORT,
  DEMO_RATE_LIMITS,
  DEMO_WORKSPACE,
  DemoConfigurationError,
  demoAddress,
  demoSettings,
  firstStart,
  httpUrl,
  listenHttp,
  rateLimitLine,
  runDemo,
} from './demo.js';
export { QuietErrorLog } from './error-log.js';
export {
  DOCUMENTED_ROUTES,
  OPENAPI_PATH,
  openApiPath,
  paymentsOpenApiDocument,
} from './openapi.js';
export type { RouteSpec } from './routes.js';
export { ROUTES } from './routes.js';
