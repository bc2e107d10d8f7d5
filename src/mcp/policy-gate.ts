/** Moved: policy is the judge stage (stages/judge.ts); the error code lives in jsonrpc.ts. Kept for web/api.ts's import. */
export { POLICY_DENIED } from './jsonrpc.js';
