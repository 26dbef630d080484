/**
 * An app that has not applied the README's recipe: TanStack Query's default retries (3 more attempts
 * per query, quickly here), several queries at once, each counting its attempts. `__retries(urls)`
 * starts one query per URL and resolves once every query has settled.
 */
import { QueryClient, QueryObserver } from '@tanstack/query-core'

interface Settled {
  url: string
  status: string
  attempts: number
  /** The last error's HTTP status (the SDK's 401), or null. */
  httpStatus: number | null
}

const w = window as unknown as { __retries: (urls: string[]) => Promise<Settled[]> }

w.__retries = (urls) => {
  const client = new QueryClient({ defaultOptions: { queries: { retryDelay: 20 } } })
  return Promise.all(
    urls.map(
      (url) =>
        new Promise<Settled>((resolve) => {
          let attempts = 0
          let httpStatus: number | null = null
          const observer = new QueryObserver(client, {
            queryKey: ['retries', url],
            queryFn: async () => {
              attempts++
              const res = await fetch(url)
              if (!res.ok) {
                httpStatus = res.status
                throw new Error(`HTTP ${res.status}`)
              }
              return res.json()
            },
          })
          const off = observer.subscribe((result) => {
            if (result.status === 'pending') return
            off()
            resolve({ url, status: result.status, attempts, httpStatus })
          })
        }),
    ),
  )
}
