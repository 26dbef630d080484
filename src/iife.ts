/**
 * The browser build (`window.AjaxReauth`): everything, the adapters included, and the built-in
 * profiles also by name (`createReauth({ proxy: 'pomerium' })`), since a script tag cannot tree-shake.
 */
import { useProfileNames } from './profiles/by-name'
import { profileFactories } from './profiles/names'

useProfileNames(profileFactories)

export { axiosReauth } from './axios'
export * from './index'
export { kyReauth } from './ky'
