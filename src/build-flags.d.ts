/**
 * Set by the build (tsup.config.ts `define`): true in `dist/development/` (the `development` export
 * condition), false in the default build. Undefined when src/ runs unbuilt (tests).
 */
declare const __AJAX_REAUTH_DEV__: boolean | undefined
