/** Entry of dist/http.js: the loopback HTTP ingest, required when it is enabled or a token is made. */
export { HttpIngest } from '../ingest/httpIngest';
