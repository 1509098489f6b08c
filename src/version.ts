import pkg from "../package.json" with { type: "json" };

/** Read from package.json so `synchro --version` can never drift; esbuild inlines it into the bundle. */
export const VERSION: string = pkg.version;
