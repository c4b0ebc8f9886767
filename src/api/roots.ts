// Where state and images live by default ($XDG_RUNTIME_DIR/nsbox, the data directory).
export { defaultDataRoot, defaultRuntimeRoot } from '../state/paths.js';
