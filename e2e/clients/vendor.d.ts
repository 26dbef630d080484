// Just the surface the matrix drivers use (the clients ship no types, or types for Node only).
interface JqXhrLike {
  status: number
  responseJSON?: unknown
  responseText?: string
  getResponseHeader(name: string): string | null
}
interface JqPromiseLike {
  then(
    done: (data: unknown, text: string, jq: JqXhrLike) => void,
    fail: (jq: JqXhrLike, text: string) => void,
  ): unknown
}
interface JqLike {
  ajax(settings: { url: string; dataType?: string }): JqPromiseLike
  get(url: string): JqPromiseLike
}
declare module 'jquery' {
  const $: JqLike
  export default $
}
declare module 'jquery4' {
  const $: JqLike
  export default $
}
declare module 'superagent' {
  const superagent: { get(url: string): Promise<{ status: number; body: unknown }> }
  export default superagent
}
declare module 'whatwg-fetch' {
  export const fetch: typeof globalThis.fetch
}
