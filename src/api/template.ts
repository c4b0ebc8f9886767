// --format templates (core/template.ts), for the CLI and the library.
export { renderTemplate, TemplateError } from '../core/template.js';
