/** The mail area's pages: one chunk, loaded when a mail page is first opened (pages/index.ts). */
export { DeliveryPage } from '../pages/mail/delivery.tsx';
export { DestinationPage, DestinationsPage } from '../pages/mail/destinations.tsx';
export { TracePage } from '../pages/mail/trace.tsx';
export { IpPage, IpsPage } from '../pages/mail/ips.tsx';
export { PoolsPage } from '../pages/mail/pools.tsx';
export { DomainPage, DomainsPage } from '../pages/mail/domains.tsx';
