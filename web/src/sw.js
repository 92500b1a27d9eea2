// The dashboard's service worker: shows nbms notifications that arrive over
// Web Push. Served from the web root (/sw.js) so that its scope is the whole
// dashboard. The push payload is the notification JSON of
// docs/notifications.md ({delivery, id, customer, building, kind, priority,
// title, body, link, created_ms}); a retried delivery carries the same `id`,
// which is the notification's tag, so a repeat replaces instead of adding.
/* eslint-env serviceworker */

self.addEventListener('install', () => { self.skipWaiting(); });
self.addEventListener('activate', (event) => { event.waitUntil(self.clients.claim()); });

self.addEventListener('push', (event) => {
  let n = {};
  try { n = event.data ? event.data.json() : {}; } catch { n = { title: event.data ? event.data.text() : '' }; }
  const title = n.title || 'nbms';
  const where = [n.customer, n.building].filter(Boolean).join(' / ');
  const body = [n.body, where].filter(Boolean).join('\n');
  event.waitUntil(self.registration.showNotification(title, {
    body,
    tag: n.id || n.delivery || undefined,
    renotify: false,
    requireInteraction: n.priority === 'urgent',
    data: { link: n.link || '/', id: n.id || '' },
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const link = event.notification.data?.link || '/';
  // Only our own origin: a link is a dashboard path.
  const url = new URL(link, self.location.origin);
  if (url.origin !== self.location.origin) return;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const w of windows) {
      if (new URL(w.url).origin === url.origin && 'focus' in w) {
        await w.focus();
        if ('navigate' in w) await w.navigate(url.href);
        return;
      }
    }
    await self.clients.openWindow(url.href);
  })());
});
