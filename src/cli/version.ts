declare const __VERSION__: string | undefined;
/** The package version, put in by esbuild (`define`); `0.0.0-dev` when run from tsc output. */
export const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';
