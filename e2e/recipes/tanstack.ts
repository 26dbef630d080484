/**
 * The page side of the TanStack Query recipe: the README's block is `recipe` (bundled in by
 * e2e/recipes.e2e.ts), and a query observer stands for a component's `useQuery`.
 */
import { QueryObserver } from '@tanstack/query-core'
// @ts-expect-error: the README's code block, resolved at bundle time
import { fetchJson, queryClient } from 'recipe'

interface QueryState {
  status: string
  data: unknown
  attempts: number
}

const w = window as unknown as { __query: (url: string) => void; __queryState: QueryState }

w.__query = (url) => {
  const state: QueryState = { status: 'pending', data: null, attempts: 0 }
  w.__queryState = state
  const observer = new QueryObserver(queryClient, {
    queryKey: ['recipe', url],
    queryFn: () => {
      state.attempts++
      return fetchJson(url)
    },
    retryDelay: 20,
  })
  observer.subscribe((result) => {
    state.status = result.status
    state.data = result.data ?? null
  })
}
