import { createReauth, type ReauthOptions } from 'ajax-reauth'
import { axiosReauth } from 'ajax-reauth/axios'
import axios from 'axios'

export interface Item {
  id: number
  name: string
}

/**
 * The app's API client: axios behind oauth2-proxy, with ajax-reauth recovering a lost session.
 * `relogin` is injectable so tests can sign in through the emulation (the app uses 'iframe');
 * `baseURL` too, because axios in Node does not resolve '/api' against the page.
 */
export function createApi(options: { relogin?: ReauthOptions['relogin']; baseURL?: string } = {}) {
  const reauth = createReauth({ proxy: 'oauth2-proxy', relogin: options.relogin ?? 'iframe' })
  const http = axios.create({ baseURL: options.baseURL ?? '/api' })
  axiosReauth(http, reauth)
  return {
    reauth,
    async listItems(): Promise<Item[]> {
      const { data } = await http.get<Item[]>('/items')
      return data
    },
    async addItem(name: string): Promise<Item> {
      const { data } = await http.post<Item>('/items', { name })
      return data
    },
  }
}
