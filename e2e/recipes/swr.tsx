/**
 * The page side of the SWR recipe: the README's block is `recipe` (bundled in by e2e/recipes.e2e.ts),
 * rendered with React under `<SWRConfig value={swrConfig}>` as an app would.
 */
import { createRoot } from 'react-dom/client'
// @ts-expect-error: the README's code block, resolved at bundle time
import { swrConfig } from 'recipe'
import useSWR, { SWRConfig } from 'swr'

interface QueryState {
  status: string
  data: unknown
  attempts: number
}

const w = window as unknown as { __query: (url: string) => void; __queryState: QueryState }

function Items({ url, state }: { url: string; state: QueryState }) {
  const { data, error, isLoading } = useSWR(url, async (key: string) => {
    state.attempts++
    return swrConfig.fetcher(key)
  })
  state.status = isLoading ? 'pending' : error && !data ? 'error' : data ? 'success' : 'pending'
  state.data = data ?? null
  return <pre>{JSON.stringify(data ?? null)}</pre>
}

w.__query = (url) => {
  const state: QueryState = { status: 'pending', data: null, attempts: 0 }
  w.__queryState = state
  const el = document.createElement('div')
  document.body.append(el)
  createRoot(el).render(
    <SWRConfig value={{ ...swrConfig, errorRetryInterval: 20 }}>
      <Items url={url} state={state} />
    </SWRConfig>,
  )
}
