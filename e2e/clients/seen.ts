/** What a matrix driver reports, and the page's SDK (`window.AjaxReauth`) the drivers read it with. */
export type Reauth = {
  install(): Reauth
  on(type: string, handler: (e: any) => void): () => void
}
export type SdkGlobal = {
  createReauth(options?: Record<string, unknown>): Reauth
  authRequiredReason(x: unknown): string | null
  axiosReauth(instance: unknown, reauth: Reauth): () => void
  kyReauth(reauth: Reauth): unknown
}

/** What the app saw of one call, through one client. */
export interface Seen {
  ok: boolean
  status: number | null
  /** The body as the client exposes it (parsed where the client parses JSON). */
  data: unknown
  /** The client's error class or kind, null on success. */
  error: string | null
  /** `authRequiredReason()` of whatever the client handed over. */
  reason: string | null
  /** Client-specific observations: which 401 hook or catcher ran, the retries. */
  idiom: Record<string, unknown>
}

export interface Context {
  reauth: Reauth | null
}

export const sdk = (): SdkGlobal => (window as unknown as { AjaxReauth: SdkGlobal }).AjaxReauth
export const reasonOf = (x: unknown): string | null => sdk().authRequiredReason(x)
export const nameOf = (e: unknown): string =>
  String((e as { name?: unknown })?.name ?? (e as { constructor?: { name?: string } })?.constructor?.name)
