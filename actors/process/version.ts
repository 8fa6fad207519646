/** Troupe's version, for `--version`, /status and /openapi.json. */
export const VERSION = "0.1.0";
