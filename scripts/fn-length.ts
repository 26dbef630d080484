/**
 * Part of `npm run lint`: every function, method, accessor and arrow function in src/ longer than
 * `MAX_LINES` lines (first to last line, nested functions included), by the TypeScript compiler API.
 * Exits 1 when one is over and not in `ALLOWED`, or an entry of `ALLOWED` is not over any more.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import ts from 'typescript'

const ROOT = resolve(import.meta.dirname, '..')
const MAX_LINES = 80

/** `file:name` of the functions allowed over the limit, each with why. Nothing else may be. */
// Empty: every function is under the limit. An entry (`'src/x.ts:name'`, with a comment saying why) is
// for a function that cannot be split yet; the check fails once it no longer needs one.
const ALLOWED = new Set<string>([])

const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : [],
  )

/** A function's name: its own, or the variable, property or class member it is assigned to. */
const nameOf = (node: ts.FunctionLikeDeclaration): string => {
  if (node.name) return node.name.getText()
  const p = node.parent
  if ((ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) && p.name)
    return p.name.getText()
  return '(anonymous)'
}

const over: string[] = []
const used = new Set<string>()
for (const file of files(join(ROOT, 'src'))) {
  const rel = relative(ROOT, file)
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const fn = node as ts.FunctionLikeDeclaration
      const first = source.getLineAndCharacterOfPosition(fn.getStart(source)).line
      const last = source.getLineAndCharacterOfPosition(fn.getEnd()).line
      const lines = last - first + 1
      const name = nameOf(fn)
      const key = `${rel}:${name}`
      if (lines > MAX_LINES && ALLOWED.has(key)) used.add(key)
      else if (lines > MAX_LINES) over.push(`${rel}:${first + 1} ${name}: ${lines} lines`)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
}

// An entry whose function is short now (or gone) leaves the list.
for (const key of ALLOWED)
  if (!used.has(key)) over.push(`${key}: allowed over ${MAX_LINES} lines, no longer is`)
if (over.length) {
  console.error(`Functions longer than ${MAX_LINES} lines (split them into named parts):`)
  for (const line of over) console.error(`  ${line}`)
  process.exit(1)
}
console.log(
  used.size
    ? `fn-length: no function in src/ over ${MAX_LINES} lines but the ${used.size} allowed`
    : `fn-length: no function in src/ over ${MAX_LINES} lines`,
)
