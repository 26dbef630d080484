import {
  type AxiosAuthRequiredError,
  type AxiosAuthResponse,
  type AxiosInstanceLike,
  createAxiosAdapter,
} from './adapters/axios'
import type { Reauth } from './client'
import { engineOf } from './internal'

export type { AxiosAuthRequiredError, AxiosAuthResponse, AxiosInstanceLike }

/**
 * Put an SDK instance in front of an axios instance (`axios` itself or `axios.create()`): headers on
 * in-scope requests, lost-session detection on responses and errors, replay after re-login. A lost
 * session re-login cannot save rejects with an `AuthRequiredError` that also looks like an
 * `AxiosError` with `response.status === 401`.
 * Returns the function that ejects both interceptors.
 *
 * @example
 * import axios from 'axios'
 * import { createReauth } from 'ajax-reauth'
 * import { axiosReauth } from 'ajax-reauth/axios'
 *
 * const reauth = createReauth()
 * const eject = axiosReauth(axios, reauth)
 * axios.get('/api/items').catch((e) => {
 *   if (e.response?.status === 401) showSignIn()
 * })
 */
export const axiosReauth = (instance: AxiosInstanceLike, reauth: Reauth): (() => void) =>
  createAxiosAdapter(engineOf(reauth))(instance)
