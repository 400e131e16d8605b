/** The home-lab pages: one chunk, loaded when one of them is first opened (pages/index.ts). */
export { DevicePage, DevicesPage } from '../pages/lab/devices.tsx';
export { ConfigChangesPage, DeviceConfigsPage } from '../pages/lab/configs.tsx';
