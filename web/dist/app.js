// Placeholder for the upload page: shows what GET /api/session says of
// the token in the URL fragment (#token=…), and a home token's uploads.
'use strict';
(async () => {
  const status = document.getElementById('status');
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (!token) {
    status.textContent = 'No token: open the link you were given (…/#token=…).';
    return;
  }
  const auth = { headers: { Authorization: 'Bearer ' + token } };
  const res = await fetch('api/session', auth);
  if (!res.ok) {
    status.textContent = res.status + ' ' + (await res.text());
    return;
  }
  const session = await res.json();
  status.textContent = session.expired ? 'Your link has expired: unfinished uploads may still resume.' : 'Signed in.';
  const pre = document.getElementById('session');
  pre.textContent = JSON.stringify(session, null, 2);
  pre.hidden = false;
  if (session.kind !== 'home' || session.expired) return;
  const list = await fetch('api/uploads', auth);
  if (!list.ok) return;
  const ul = document.getElementById('uploads');
  for (const u of (await list.json()).uploads) {
    const li = document.createElement('li');
    const label = (u.name || u.id) + (u.finished ? '' : ' (' + u.offset + ' of ' + (u.size ?? '?') + ' bytes)');
    if (u.download) {
      const a = document.createElement('a');
      a.href = u.download;
      a.textContent = label;
      li.append(a);
    } else {
      li.textContent = label;
    }
    ul.append(li);
  }
})();
