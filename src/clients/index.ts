export { requestIdFrom } from './request-id.ts';
export { clientAddress, trustProxy, type TrustProxy } from './address.ts';
