// `pod create`: a new pod (see pod/create.ts for the flow).
export { createPod, type CreatePodOptions } from '../pod/create.js';
