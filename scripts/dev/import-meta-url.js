// Injected into CommonJS bundles: the value import.meta.url would have had.
export const __corral_import_meta_url = require('node:url').pathToFileURL(__filename).href;
