/**
 * `npm run api:check` / `npm run api:update`: the API report of every public entry point, from the
 * built declarations (dist/*.d.ts, so run `npm run build` first), by api-extractor. The reports in
 * api/ are checked in: `api:check` fails when the public surface differs from them (a change to review),
 * `api:update` rewrites them.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Extractor, ExtractorConfig, ExtractorLogLevel } from '@microsoft/api-extractor'

const ROOT = resolve(import.meta.dirname, '..')
const ENTRIES = [
  { entry: 'index', report: 'ajax-reauth' },
  { entry: 'axios', report: 'ajax-reauth-axios' },
  { entry: 'ky', report: 'ajax-reauth-ky' },
  { entry: 'callback', report: 'ajax-reauth-callback' },
  { entry: 'testing', report: 'ajax-reauth-testing' },
]

const update = process.argv.includes('--update')
const temp = mkdtempSync(join(tmpdir(), 'ajax-reauth-api-'))
let failed = 0
try {
  for (const { entry, report } of ENTRIES) {
    const config = ExtractorConfig.prepare({
      configObject: {
        projectFolder: ROOT,
        mainEntryPointFilePath: join(ROOT, `dist/${entry}.d.ts`),
        compiler: {
          overrideTsconfig: {
            compilerOptions: { lib: ['ES2022', 'DOM', 'DOM.Iterable'], types: [], skipLibCheck: true },
            files: [join(ROOT, `dist/${entry}.d.ts`)],
          },
        },
        apiReport: {
          enabled: true,
          reportFileName: `${report}.api.md`,
          reportFolder: join(ROOT, 'api'),
          reportTempFolder: temp,
        },
        docModel: { enabled: false },
        dtsRollup: { enabled: false },
        tsdocMetadata: { enabled: false },
        messages: {
          // The report is for review; TSDoc style and release tags are not checked here.
          extractorMessageReporting: {
            default: { logLevel: ExtractorLogLevel.Warning },
            'ae-missing-release-tag': { logLevel: ExtractorLogLevel.None },
            'ae-undocumented': { logLevel: ExtractorLogLevel.None },
            'ae-forgotten-export': { logLevel: ExtractorLogLevel.None, addToApiReportFile: true },
          },
          tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.None } },
        },
      },
      configObjectFullPath: join(ROOT, 'api', 'api-extractor.json'),
      packageJsonFullPath: join(ROOT, 'package.json'),
    })
    const result = Extractor.invoke(config, { localBuild: update, showVerboseMessages: false })
    if (!result.succeeded || (!update && result.apiReportChanged)) {
      failed++
      console.error(
        `api: ${report}.api.md ${result.apiReportChanged ? 'differs from the public API' : 'failed'}` +
          (update ? '' : ' (review the change, then `npm run api:update` and commit api/)'),
      )
    } else {
      console.log(`api: ${report}.api.md ${update && result.apiReportChanged ? 'updated' : 'up to date'}`)
    }
  }
} finally {
  rmSync(temp, { recursive: true, force: true })
}
if (failed) process.exit(1)
