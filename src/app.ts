/** The composition root lives in src/app/ (build.ts); this module keeps the import path the CLI and the tests use. */
export { buildApp, type AppDeps, type ProxyApp } from './app/build.js';
