export { requestIdFrom } from './request-id.ts';
export { clientAddress, trustProxy, type TrustProxy } from './address.ts';
export { ClientLimits, clientKey, rateLimited, type RateStore } from './limits.ts';
