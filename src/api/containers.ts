// Containers addressed as POD/NAME: lookup, listing, and how `ps` shows them.
export { getContainer, listContainerRecords, parseContainerRef } from '../container/lookup.js';
export { describeStatus, type ContainerRecord } from '../container/record.js';
export { formatRestartPolicy } from '../container/spec.js';
export type { Container } from '../container/container.js';
