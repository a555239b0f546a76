// Where outbound connections may go: the address classes (public, private, loopback, metadata…)
// that webhooks (jobs/) and model downloads (models/pull/) both check before connecting.
export { classifyAddress, embeddedIPv4, isPublicAddress, NEVER, stripZone, type AddressClass } from './addresses.ts';
export { hostOf, systemResolver, type Resolver } from './hosts.ts';
