// Loaded by tests/browser/event_source_test.mjs in Chromium: signs in like the web UI, then
// follows the fleet's events with a plain EventSource (which resumes with Last-Event-ID by
// itself after a dropped connection).
window.received = [];
window.opened = 0;
window.errors = 0;
window.ready = (async () => {
  const response = await fetch('/api/v1/session', {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({username: 'root', password: 'a long admin password'}),
  });
  if (!response.ok) throw new Error('sign-in failed: ' + response.status);
  window.csrf = (await response.json()).csrfToken;
  const stream = new EventSource('/api/v1/events');
  stream.addEventListener('audit', (event) => {
    window.received.push({id: event.lastEventId, entry: JSON.parse(event.data)});
  });
  stream.onopen = () => { window.opened += 1; };
  stream.onerror = () => { window.errors += 1; };
})();
