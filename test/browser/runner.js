// Runs in the page (plain script, no build step): one XMLHttpRequest, every app-visible event logged
// with the readyState and status the app sees at that moment.
window.runXhr = (spec) =>
  new Promise((resolve) => {
    const xhr = new XMLHttpRequest()
    const log = []
    const types = [
      'readystatechange',
      'loadstart',
      'progress',
      'load',
      'error',
      'abort',
      'timeout',
      'loadend',
    ]
    const push = (entry) => {
      // Progress counts depend on timing: log runs of the same entry once.
      if (log[log.length - 1] !== entry) log.push(entry)
    }
    const mark = (src, e) =>
      `${src}${e.type}:${xhr.readyState}:${xhr.status}${e.target === xhr ? '' : ':!target'}`
    for (const t of types) xhr.addEventListener(t, (e) => push(mark('', e)))
    xhr.onload = (e) => push(mark('on', e))
    xhr.onreadystatechange = (e) => push(mark('on', e))
    if (spec.upload) for (const t of types) xhr.upload.addEventListener(t, (e) => push(`upload.${e.type}`))
    const result = () => {
      let body = null
      const type = xhr.responseType
      if (type === '' || type === 'text') body = xhr.responseText
      else if (type === 'json') body = JSON.stringify(xhr.response)
      else if (type === 'arraybuffer') body = xhr.response ? new TextDecoder().decode(xhr.response) : null
      else if (type === 'document') body = xhr.response ? xhr.response.documentElement.nodeName : null
      return {
        log,
        readyState: xhr.readyState,
        status: xhr.status,
        statusText: xhr.statusText,
        responseURL: xhr.responseURL.replace(location.origin, ''),
        contentType: xhr.getResponseHeader('content-type'),
        body,
        instanceOfNative: xhr instanceof window.__NativeXHR,
      }
    }
    const finish = async () => {
      const r = result()
      if (xhr.responseType === 'blob' && xhr.response) r.body = await xhr.response.text()
      resolve(r)
    }
    const start = (url) => {
      xhr.open(spec.method || 'GET', url, !spec.sync)
      if (spec.responseType) xhr.responseType = spec.responseType
      for (const [k, v] of Object.entries(spec.headers || {})) xhr.setRequestHeader(k, v)
      xhr.send(spec.body === undefined ? null : spec.body === 'BIG' ? 'x'.repeat(256 * 1024) : spec.body)
    }
    if (spec.sync) {
      start(spec.url)
      push(`after-send:${xhr.readyState}:${xhr.status}`)
      return finish()
    }
    if (spec.reuse) {
      let round = 0
      xhr.addEventListener('loadend', () => {
        if (round++ === 0) {
          push(`first:${xhr.status}:${xhr.responseURL.replace(location.origin, '')}`)
          setTimeout(() => start(spec.reuse), 0)
        } else setTimeout(finish, 50)
      })
    } else xhr.addEventListener('loadend', () => setTimeout(finish, 50))
    start(spec.url)
    if (spec.abortAfterMs !== undefined) {
      setTimeout(() => {
        xhr.abort()
        push(`after-abort:${xhr.readyState}:${xhr.status}`)
      }, spec.abortAfterMs)
    }
  })
